"""What model code must not get out of the sandbox, in the mode this machine gives and in
simulated ones: root without CAP_SYS_ADMIN (a default container), and a machine where no
user namespace can be made (only the weak audit-hook mode works there)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path

import pytest

from orchestrator.server.tools.code_interpreter import CodeResult, run_code
from tests.support.sandbox import (
    FORGE_RESULT_RECORDS,
    LIMITS,
    REACH_THE_SERVER,
    SIX_FORKED_HOGS,
    WITHOUT_SYS_ADMIN,
    WITHOUT_USER_NAMESPACES,
    Listener,
    directory_bytes,
    have,
    run,
    run_in_process,
)

# Each test runs real sandboxed executions (namespaces, watchdog): the integration layer.
pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox"),
    pytest.mark.integration,
]


def test_the_code_cannot_forge_the_result_pipe(wd: Path) -> None:
    result = run(FORGE_RESULT_RECORDS, wd)
    assert result.ok is False
    assert result.error == "ZeroDivisionError: division by zero"
    assert "forged" not in result.logs and "INJECTED" not in result.logs


def test_output_file_names_are_sanitised(wd: Path) -> None:
    code = "for name in ['report\\u202etxt.exe', 'two\\nlines.txt', 'plain.txt']:\n    open(name, 'w').write(name[:3])"
    result = run(code, wd)
    assert result.ok, result
    assert sorted(f.name for f in result.files) == ["plain.txt", "report_txt.exe", "two_lines.txt"]
    assert "[sandbox] output file 'report\\u202etxt.exe' is returned as 'report_txt.exe'" in (
        result.logs
    )
    assert "[sandbox] output file 'two\\nlines.txt' is returned as 'two_lines.txt'" in result.logs
    assert "\u202e" not in result.logs


def test_nested_user_namespaces_are_refused(wd: Path, namespaces: None) -> None:
    """Otherwise the code could mount its own tmpfs, which no memory limit counts."""
    code = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0:
    print("made a user namespace")
else:
    print("refused:", os.strerror(ctypes.get_errno()))
"""
    result = run(code, wd)
    assert result.ok, result
    assert result.logs.startswith("refused:"), result.logs


_SIMULATED = """
import asyncio, json, sys
from pathlib import Path
from orchestrator.server.config import SandboxLimits
from orchestrator.server.tools.code_interpreter import SandboxUnavailable, probe_isolation, run_code
limits = SandboxLimits(timeout_seconds=20, isolation=sys.argv[3])
try:
    result = asyncio.run(run_code(sys.argv[2], workdir=Path(sys.argv[1]), inputs=[], limits=limits))
    out = {"mode": probe_isolation(sys.argv[3]).mode, "logs": result.logs, "error": result.error}
except SandboxUnavailable as exc:
    out = {"mode": probe_isolation(sys.argv[3]).mode, "refused": str(exc)}
print(json.dumps(out))
"""


def _simulate(prefix: list[str], wd: Path, code: str, policy: str = "auto") -> dict:
    secret_env = {"ORCHESTRATOR_API_KEY": "sk-simulated-server-secret"}
    done = run_in_process(prefix, _SIMULATED, str(wd), code, policy, env=secret_env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _reach(tmp_path: Path, port: int) -> str:
    server_file = tmp_path / "server.db"
    server_file.write_bytes(b"the server's database")
    server_file.chmod(0o600)
    return REACH_THE_SERVER.format(
        secret="sk-simulated-server-secret", server_file=str(server_file), port=port
    )


@pytest.mark.skipif(os.geteuid() != 0 or not have("capsh"), reason="needs root and capsh")
def test_root_without_sys_admin_still_gets_namespaces(tmp_path: Path) -> None:
    """A default container: no CAP_SYS_ADMIN, but user namespaces work, so no secret of
    the server is reachable (the audit-hook fallback exposed all of them)."""
    listener = Listener()
    try:
        out = _simulate(WITHOUT_SYS_ADMIN, tmp_path / "wd", _reach(tmp_path, listener.port))
    finally:
        listener.close()
    assert out["mode"] == "namespaces", out
    assert out["error"] is None, out
    reach = json.loads(out["logs"])
    assert reach["environ"] == []
    assert reach["shadow"] != "reached" and reach["server_files"] != "reached"
    assert reach["loopback"] != "reached" and listener.accepted == 0


@pytest.mark.skipif(not have("unshare"), reason="needs unshare(1)")
def test_without_user_namespaces_the_weak_mode_is_refused(tmp_path: Path) -> None:
    out = _simulate(WITHOUT_USER_NAMESPACES, tmp_path / "wd", "print('ran')")
    assert out["mode"] == "audit-hook"
    assert out["refused"].startswith(
        "The code interpreter is disabled on this server: no sandbox isolation works on "
        "this machine, only the weak audit-hook mode, in which"
    )
    assert "the environment of the server process (its API keys)" in out["refused"]
    assert out["refused"].endswith(
        "start it with --sandbox-isolation weak (or "
        "ORCHESTRATOR_SANDBOX_ISOLATION=weak) to run code anyway"
    )
    assert not (tmp_path / "wd").exists() or not any((tmp_path / "wd").iterdir())


@pytest.mark.skipif(not have("unshare"), reason="needs unshare(1)")
def test_the_weak_mode_runs_when_the_operator_opts_in(tmp_path: Path) -> None:
    out = _simulate(WITHOUT_USER_NAMESPACES, tmp_path / "wd", "print('ran')", policy="weak")
    assert out == {"mode": "audit-hook", "logs": "ran\n", "error": None}


# --------------------------------------------------------------------------- budgets


def test_memory_is_one_budget_for_all_the_processes(wd: Path) -> None:
    result = run(SIX_FORKED_HOGS, wd, memory_mb=256, timeout_seconds=30)
    assert result.ok is False
    assert result.error is not None
    assert result.error.startswith("Memory limit exceeded: the execution's processes used ")
    assert result.error.endswith(" MB together (limit 256 MB)")
    assert "all done" not in result.logs


@pytest.mark.skipif(os.geteuid() != 0 or not have("capsh"), reason="needs root and capsh")
def test_memory_budget_as_root_without_sys_admin(tmp_path: Path) -> None:
    out = _simulate(WITHOUT_SYS_ADMIN, tmp_path / "wd", SIX_FORKED_HOGS)
    assert out["mode"] == "namespaces"
    assert out["error"].startswith("Memory limit exceeded"), out


def test_cpu_time_is_one_budget_for_all_the_processes(wd: Path) -> None:
    code = """
import os, time
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        start = time.process_time()
        while time.process_time() - start < 0.6:  # under a per-process limit of 1 s
            pass
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("all done")
"""
    result = run(code, wd, cpu_seconds=1, timeout_seconds=60)
    assert result.error is not None
    assert result.error.startswith("CPU time limit exceeded: the execution's processes used ")
    assert result.error.endswith(" s together (limit 1 s)")


def test_hidden_files_count_against_the_disk_quota(wd: Path) -> None:
    code = """
import os
os.makedirs(".cache", exist_ok=True)
for i in range(40):
    with open(f".cache/blob{i}", "wb") as f:
        f.write(os.urandom(1024 * 1024))
print("wrote 40 MB")
"""
    result = run(code, wd, disk_mb=10, timeout_seconds=30, max_file_bytes=8_000_000)
    assert result.ok is False
    assert result.error is not None and result.error.startswith("Disk quota exceeded")
    assert directory_bytes(wd) <= 10 * 1024 * 1024


def test_the_quota_holds_across_a_threads_executions(wd: Path) -> None:
    write = "open({name!r}, 'wb').write(bytes(range(256)) * 4096 * 6)  # 6 MB"
    first = run(write.format(name="first.bin"), wd, disk_mb=10, max_file_bytes=8_000_000)
    assert first.ok, first.error
    second = run(write.format(name="second.bin"), wd, disk_mb=10, max_file_bytes=8_000_000)
    assert second.ok is False
    assert second.error is not None and second.error.startswith("Disk quota exceeded")
    assert "removed to keep the working directory within its quota: 'second.bin'" in second.logs
    assert sorted(os.listdir(wd)) == ["first.bin"]  # what was there stays
    # Full: the next execution does not start at all.
    filler = run("open('filler.bin', 'wb').write(b'never written')", wd, disk_mb=5)
    assert filler.error == "Disk quota exceeded: the working directory holds 6 MB (limit 5 MB)"
    assert sorted(os.listdir(wd)) == ["first.bin"]


def test_executions_beyond_the_cap_wait_for_a_slot(tmp_path: Path) -> None:
    code = (
        "import os, time\nopen('started', 'w').close()\n"
        "while not os.path.exists('release'):\n    time.sleep(0.02)"
    )
    dirs = [tmp_path / f"thread{i}" for i in range(5)]
    limits = dataclasses.replace(LIMITS, max_concurrent=2, timeout_seconds=60)

    async def main() -> tuple[int, list[CodeResult]]:
        tasks = [
            asyncio.create_task(run_code(code, workdir=d, inputs=[], limits=limits)) for d in dirs
        ]

        def running() -> list[Path]:
            return [d for d in dirs if (d / "started").exists() and not (d / "release").exists()]

        peak = 0
        for _ in dirs:
            while not running():
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # room for any execution that should not start
            peak = max(peak, len(running()))
            (running()[0] / "release").touch()
        return peak, await asyncio.gather(*tasks)

    peak, results = asyncio.run(asyncio.wait_for(main(), timeout=120))
    assert peak == 2
    assert all(r.ok for r in results), results


def test_memory_files_and_shared_memory_count_too(wd: Path, namespaces: None) -> None:
    """Memory that no process's resident size shows: memfd files not mapped, and System V
    segments (bounded in the sandbox's IPC namespace)."""
    memfds = """
import os, time
fds = []
for i in range(20):
    fd = os.memfd_create(f"chunk{i}")
    os.write(fd, os.urandom(20 * 1024 * 1024))
    fds.append(fd)
time.sleep(2)
print("holding 400 MB")
"""
    result = run(memfds, wd, memory_mb=256, max_file_bytes=32 * 1024 * 1024, timeout_seconds=30)
    assert result.error is not None and result.error.startswith("Memory limit exceeded"), result
    sysv = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
IPC_PRIVATE, IPC_CREAT = 0, 0o1000
ids = [libc.shmget(IPC_PRIVATE, ctypes.c_size_t(100 * 1024 * 1024), IPC_CREAT | 0o600) for _ in range(5)]
print(["ok" if i >= 0 else os.strerror(ctypes.get_errno()) for i in ids])
"""
    result = run(sysv, wd, memory_mb=256)
    assert result.ok, result
    assert (
        result.logs
        == "['ok', 'ok', 'No space left on device', 'No space left on device', 'No space left on device']\n"
    )
