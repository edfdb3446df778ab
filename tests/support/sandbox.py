"""Helpers for the code-interpreter sandbox tests: run code, find host processes, listen."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import threading
import time
from pathlib import Path

from orchestrator.server.config import SandboxLimits
from orchestrator.server.tools.code_interpreter import CodeFile, CodeResult, run_code

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
