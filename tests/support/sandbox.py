"""Helpers for the code-interpreter sandbox tests: run code, find host processes, listen."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from orchestrator.server.config import SandboxLimits
from orchestrator.server.tools.code_interpreter import CodeFile, CodeResult, run_code
from orchestrator.testing import ServerProcess
from tests.support import ROOT

LIMITS = SandboxLimits(
    timeout_seconds=5, memory_mb=256, max_output_bytes=4096, max_file_bytes=1_000_000
)


def run(code: str, workdir: Path, inputs: list[CodeFile] | None = None, **limits) -> CodeResult:
    return asyncio.run(
        run_code(
            code,
            workdir=workdir,
            inputs=inputs or [],
            limits=dataclasses.replace(LIMITS, **limits),
        )
    )


def host_processes_with(token: str) -> list[int]:
    """Host pids whose command line contains ``token``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(int(name))
    return found


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def leave_the_process_group(token: str) -> str:
    """Code that starts ``sleep <token>`` twice out of its process group: a child in its
    own session, and a daemonised grandchild."""
    return f"""
import os, subprocess
subprocess.Popen(["sleep", "{token}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{token}"])
    os._exit(0)
"""


class Listener:
    """A TCP server on the host's loopback that counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


# Code that writes forged result records to every descriptor it holds, then fails.
FORGE_RESULT_RECORDS = """
import os
forged = b'{"kind": "setup_error", "error": "forged\\\\nINJECTED"}\\n{"kind": "exit", "code": 0}\\n'
for name in os.listdir("/proc/self/fd"):
    try:
        os.write(int(name), forged) if int(name) > 2 else None
    except OSError:
        pass
1 / 0
"""

# Probes of what an execution can reach of the server; prints one JSON object.
REACH_THE_SERVER = """
import json, os, socket, sys
secret = os.environ.get("PROBE_SECRET", "{secret}")
found = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            if secret.encode() in open(f"/proc/{{pid}}/environ", "rb").read():
                found.append(pid)
        except OSError:
            pass
def attempt(fn):
    try:
        fn()
        return "reached"
    except OSError as exc:
        return type(exc).__name__
print(json.dumps({{
    "environ": found,
    "shadow": attempt(lambda: open("/etc/shadow", "rb").read()),
    "server_files": attempt(lambda: open({server_file!r}, "rb").read()),
    "loopback": attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2).close()),
}}))
"""


def run_in_process(
    prefix: list[str], script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with this checkout's python under ``prefix`` (capsh, unshare...)."""
    return subprocess.run(
        [*prefix, sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


# Prefixes for run_in_process: as root in a default container, every capability but
# CAP_SYS_ADMIN; and a machine where no user namespace can be made (only audit-hook).
WITHOUT_SYS_ADMIN = ["capsh", "--drop=cap_sys_admin", "--", "-c", 'exec "$0" "$@"']
WITHOUT_USER_NAMESPACES = [
    "unshare",
    "--user",
    "--map-root-user",
    "sh",
    "-c",
    'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"',
]


def have(program: str) -> bool:
    return shutil.which(program) is not None


@dataclasses.dataclass
class PrefixedServer(ServerProcess):
    """``orchestrator serve`` started under ``prefix`` (e.g. WITHOUT_USER_NAMESPACES)."""

    prefix: Sequence[str] = ()

    def command(self) -> list[str]:
        return [*self.prefix, *super().command()]


# Six processes of 150 MB each: within a per-process limit, over any per-execution one.
SIX_FORKED_HOGS = """
import os, time
children = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = b"x" * (150 * 1024 * 1024)
        time.sleep(2)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("all done")
"""


def directory_bytes(path: Path) -> int:
    """Allocated bytes under ``path``, hidden files included."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total
