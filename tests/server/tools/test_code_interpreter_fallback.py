"""The sandbox where no namespace can be created: the audit-hook fallback.

Forced with ``ORCHESTRATOR_SANDBOX_ISOLATION=audit-hook`` (what a server gets on a
machine without namespaces): limits, the scrubbed environment, cleanup and the Python
level network guard still hold; the weaker guarantees are stated, not hidden.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.server.tools.code_interpreter import (
    ISOLATION_ENV,
    MAX_PROCESSES,
    CodeFile,
    Isolation,
    probe_isolation,
)
from tests.support.sandbox import (
    SIX_FORKED_HOGS,
    Listener,
    host_processes_with,
    leave_the_process_group,
    run,
    wait_until,
)

# Each test runs real sandboxed executions (namespaces, watchdog): the integration layer.
pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox"),
    pytest.mark.integration,
]


@pytest.fixture
def audit_hook(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Isolation]:
    monkeypatch.setenv(ISOLATION_ENV, "audit-hook")
    with caplog.at_level(logging.WARNING, logger="orchestrator.sandbox"):
        isolation = probe_isolation(refresh=True)
    yield isolation
    monkeypatch.delenv(ISOLATION_ENV)
    probe_isolation(refresh=True)  # back to what this machine gives, for later tests


def test_the_fallback_says_what_it_is(
    audit_hook: Isolation, caplog: pytest.LogCaptureFixture
) -> None:
    assert audit_hook.mode == "audit-hook"
    assert audit_hook.network_isolated is False
    assert f"forced by {ISOLATION_ENV}" in audit_hook.detail
    warnings = [r for r in caplog.get_records("setup") if r.name == "orchestrator.sandbox"]
    assert [r.levelno for r in warnings] == [logging.WARNING]  # logged once, loudly
    assert "audit hook" in warnings[0].getMessage()


def test_code_runs_in_the_working_directory(audit_hook: Isolation, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    code = "import os\nprint(os.getcwd() == os.environ['HOME'])\nopen('out.txt', 'w').write('x')\n7 * 6"
    result = run(code, wd, [CodeFile("in.txt", b"input")])
    assert result.logs == "True\n42\n"
    assert result.files == [CodeFile("out.txt", b"x")]
    failed = run("open('in.txt').read() + 1", wd)
    assert failed.error == 'TypeError: can only concatenate str (not "int") to str'


def test_python_sockets_are_refused(audit_hook: Isolation, tmp_path: Path) -> None:
    listener = Listener()
    try:
        code = f"""
import socket
for what, fn in (
    ("tcp", lambda: socket.create_connection(("127.0.0.1", {listener.port}), timeout=2)),
    ("dns", lambda: socket.getaddrinfo("example.com", 443)),
):
    try:
        fn()
        print(what, "CONNECTED")
    except OSError as exc:
        print(what, type(exc).__name__)
"""
        result = run(code, tmp_path / "wd")
        assert result.logs == "tcp PermissionError\ndns PermissionError\n"
        assert listener.accepted == 0
    finally:
        listener.close()


def test_limits_still_hold(audit_hook: Isolation, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    loop = run("while True:\n    pass", wd, timeout_seconds=1)
    assert loop.error == "Timed out after 1 s"
    hog = run("x = bytearray(2 * 1024**3)", wd, memory_mb=200)
    assert hog.error == "MemoryError: out of memory (memory limit 200 MB)"
    big = run("open('big', 'wb').write(b'0' * 200_000)", wd, max_file_bytes=100_000)
    assert big.error is not None and "File too large" in big.error
    noisy = run("print('x' * 100_000)", wd, max_output_bytes=100)
    assert noisy.logs.startswith("x" * 100 + "\n[output truncated: 100001 bytes were printed")


def test_the_environment_is_still_scrubbed(
    audit_hook: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback-secret")
    result = run("import json, os\nprint(json.dumps(dict(os.environ)))", tmp_path / "wd")
    env = json.loads(result.logs)
    assert "OPENAI_API_KEY" not in env and "sk-fallback-secret" not in result.logs
    assert env["HOME"] == str((tmp_path / "wd").resolve())


def test_processes_that_leave_the_group_are_still_killed(
    audit_hook: Isolation, tmp_path: Path
) -> None:
    """Without a pid namespace the bootstrap is a child subreaper and kills orphans."""
    token = f"{uuid.uuid4().int % 10**6 + 10**6}.125"
    code = leave_the_process_group(token)
    assert run(code, tmp_path / "wd").ok
    assert wait_until(lambda: not host_processes_with(f"sleep\x00{token}"), timeout=5)
    timed_out = run(code + "\nwhile True:\n    pass", tmp_path / "wd", timeout_seconds=1)
    assert timed_out.error == "Timed out after 1 s"
    assert wait_until(lambda: not host_processes_with(f"sleep\x00{token}"), timeout=5)


def test_an_unknown_mode_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ISOLATION_ENV, "chroot")
    try:
        with pytest.raises(ValueError, match="ORCHESTRATOR_SANDBOX_ISOLATION='chroot'"):
            probe_isolation(refresh=True)
        result = run("print('never runs')", tmp_path / "wd")  # an error result, not a crash
        assert result.ok is False and result.logs == ""
        assert result.error == (
            "Sandbox error: ORCHESTRATOR_SANDBOX_ISOLATION='chroot': expected one of "
            "('auto', 'weak', 'namespaces', 'user-namespaces', 'audit-hook')"
        )
    finally:
        monkeypatch.delenv(ISOLATION_ENV)
        probe_isolation(refresh=True)


def test_memory_and_processes_are_budgeted_per_execution(
    audit_hook: Isolation, tmp_path: Path
) -> None:
    """Without namespaces RLIMIT_NPROC does not count per execution (the server's uid,
    maybe root): the watchdog's sums hold all the same."""
    hogs = run(SIX_FORKED_HOGS, tmp_path / "wd", memory_mb=256, timeout_seconds=30)
    assert hogs.error is not None and hogs.error.startswith("Memory limit exceeded"), hogs
    token = f"{uuid.uuid4().int % 10**6 + 10**6}.625"
    bomb = f"""
import subprocess
for _ in range(150):
    subprocess.Popen(["sleep", "{token}"])
import time
time.sleep(20)
"""
    result = run(bomb, tmp_path / "wd", timeout_seconds=30)
    assert result.error is not None
    assert result.error.startswith("Too many processes: the execution ran ")
    assert result.error.endswith(f" processes and threads (limit {MAX_PROCESSES + 1})")
    assert wait_until(lambda: not host_processes_with(f"sleep\x00{token}"), timeout=5)
