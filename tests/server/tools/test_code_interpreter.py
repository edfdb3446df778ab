"""The code interpreter sandbox, through ``run_code`` with real subprocesses.

These tests run in whatever isolation this machine gives (``probe_isolation``): on Linux
as root that is the namespace mode, which the assertions marked ``namespaces only``
need. The audit-hook fallback has its own tests in ``test_code_interpreter_fallback.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import uuid
import zlib
from pathlib import Path

import pytest

from orchestrator.server.tools.code_interpreter import (
    MAX_PROCESSES,
    CodeFile,
    CodeResult,
    probe_isolation,
    run_code,
    sandbox_env,
)
from tests.support.sandbox import (
    LIMITS,
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

from tests.support import ROOT  # noqa: E402

# --------------------------------------------------------------------------- behaviour


def test_prints_and_echoes_the_last_expression_like_a_notebook(wd: Path) -> None:
    result = run("print('hello')\nx = 6 * 7\nx", wd)
    assert result == CodeResult(logs="hello\n42\n", ok=True, error=None, files=[])
    assert run("x = None\nx", wd).logs == ""  # None is not echoed
    assert run("x = 1", wd).logs == ""  # nor is a last statement
    assert run("'text'", wd).logs == "'text'\n"  # the repr, as in a notebook


def test_stdout_and_stderr_are_interleaved_as_printed(wd: Path) -> None:
    code = "import sys\nprint('a')\nprint('b', file=sys.stderr)\nprint('c')\n_ = sys.stderr.write('d\\n')"
    assert run(code, wd).logs == "a\nb\nc\nd\n"


def test_an_exception_is_an_error_with_the_cells_traceback(wd: Path) -> None:
    result = run("def f():\n    return 1 / 0\n\nf()", wd)
    assert result.ok is False
    assert result.error == "ZeroDivisionError: division by zero"
    assert result.logs.startswith("Traceback (most recent call last):\n")
    assert 'File "<cell>", line 2, in f' in result.logs
    assert "return 1 / 0" in result.logs  # the source line is shown
    assert "_sandbox_boot" not in result.logs  # our frames are not


def test_a_syntax_error_names_the_line(wd: Path) -> None:
    result = run("x = 1\ndef f(:\n    pass", wd)
    assert result.ok is False
    assert result.error == "SyntaxError: invalid syntax (line 2)"
    assert "Traceback" not in result.logs and "def f(:" in result.logs


def test_exit_statuses(wd: Path) -> None:
    assert run("import sys\nsys.exit(0)", wd).ok is True
    failed = run("import sys\nprint('before')\nsys.exit(3)", wd)
    assert (failed.ok, failed.error, failed.logs) == (False, "Exited with status 3", "before\n")
    message = run("raise SystemExit('bye')", wd)
    assert (message.ok, message.error, message.logs) == (False, "Exited with status 1", "bye\n")


def test_files_persist_between_executions_but_variables_do_not(wd: Path) -> None:
    first = run("x = 5\nwith open('state.txt', 'w') as f:\n    f.write('5')", wd)
    assert first.ok and [f.name for f in first.files] == ["state.txt"]
    second = run("print(open('state.txt').read())\nx", wd)
    assert second.logs.startswith("5\n")
    assert second.error == "NameError: name 'x' is not defined"
    assert second.files == []  # read, not changed


# --------------------------------------------------------------------------- limits


def test_a_runaway_loop_is_killed_at_the_timeout(wd: Path) -> None:
    result = run("print('started')\nwhile True:\n    pass", wd, timeout_seconds=1.5)
    assert result.ok is False
    assert result.error == "Timed out after 1.5 s"
    assert result.logs == "started\n"  # what it printed before is kept


def test_the_timeout_kills_everything_the_code_started(wd: Path) -> None:
    token = f"{uuid.uuid4().int % 10**6 + 10**6}.5"
    code = leave_the_process_group(token) + "while True:\n    pass\n"
    result = run(code, wd, timeout_seconds=1.5)
    assert result.error == "Timed out after 1.5 s"
    assert wait_until(lambda: not host_processes_with(f"sleep\x00{token}"), timeout=5)


def test_a_memory_hog_fails_with_memory_error(wd: Path) -> None:
    result = run("x = bytearray(2 * 1024**3)", wd, memory_mb=200)
    assert result.ok is False
    assert result.error is not None and result.error.startswith("MemoryError")
    assert "200 MB" in result.error
    growing = run(
        "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))", wd, memory_mb=200
    )
    assert growing.ok is False and growing.error.startswith("MemoryError")


def test_output_is_truncated_at_the_limit_and_drained(wd: Path) -> None:
    code = "for i in range(200_000):\n    print(i)\nprint('done')"
    result = run(code, wd, max_output_bytes=1000, timeout_seconds=60)
    assert result.ok is True  # the code itself finished: the pipe never blocked it
    assert result.logs.startswith("0\n1\n2\n")
    printed = "".join(f"{i}\n" for i in range(200_000)) + "done\n"
    head, _, note = result.logs.partition("[output truncated: ")
    assert head == printed[:1000] + "\n"  # the first 1000 bytes, then the note on its line
    assert note == f"{len(printed)} bytes were printed, the first 1000 are shown]\n"
    assert "done" not in result.logs


def test_file_size_is_limited(wd: Path) -> None:
    result = run("open('big.bin', 'wb').write(b'0' * 1_000_000)", wd, max_file_bytes=100_000)
    assert result.ok is False
    assert result.error is not None and "File too large" in result.error


def test_children_run_and_their_number_is_limited(wd: Path, namespaces: None) -> None:
    code = """
import subprocess, sys
print(subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout.strip())
print(subprocess.run(["sh", "-c", "echo from the shell"], capture_output=True, text=True).stdout.strip())
"""
    assert run(code, wd).logs == "42\nfrom the shell\n"
    bomb = """
import os, time
pids = []
try:
    for _ in range(500):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        pids.append(pid)
except OSError as exc:
    print("refused after", len(pids), type(exc).__name__)
"""
    # Each forked interpreter soon holds a few MB of its own (reference counts write to
    # shared pages): room for the task limit to be what stops it, not the memory budget.
    result = run(bomb, wd, memory_mb=1024)
    assert result.ok is True, result
    words = result.logs.split()
    assert words[:2] == ["refused", "after"] and words[3] == "BlockingIOError"
    assert int(words[2]) < MAX_PROCESSES


# --------------------------------------------------------------------------- files


def test_created_and_changed_files_are_returned(wd: Path) -> None:
    wd.mkdir(parents=True)
    (wd / "keep.txt").write_text("untouched")
    (wd / "edit.txt").write_text("old")
    code = """
import os
os.makedirs("out", exist_ok=True)
with open("out/result.csv", "w") as f:
    f.write("a,b\\n1,2\\n")
with open("edit.txt", "a") as f:
    f.write(" and new")
os.makedirs("__pycache__", exist_ok=True)
open("__pycache__/mod.cpython-311.pyc", "wb").write(b"cache")
os.makedirs(".cache", exist_ok=True)
open(".cache/state", "w").write("tool state")
"""
    result = run(code, wd)
    assert result.ok, result
    assert {f.name: f.data for f in result.files} == {
        "edit.txt": b"old and new",
        "out/result.csv": b"a,b\n1,2\n",
    }


def test_a_png_written_by_the_code_comes_back(wd: Path) -> None:
    code = """
import struct, zlib
width, height = 4, 3
rows = b"".join(b"\\x00" + bytes([255, 0, 0]) * width for _ in range(height))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
with open("plot.png", "wb") as f:
    f.write(png)
print("saved plot.png")
"""
    result = run(code, wd)
    assert result.logs == "saved plot.png\n"
    [png] = result.files
    assert png.name == "plot.png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png.data[16:24])
    assert (width, height) == (4, 3)
    idat_len = struct.unpack(">I", png.data[33:37])[0]
    assert zlib.decompress(png.data[41 : 41 + idat_len])[:4] == b"\x00\xff\x00\x00"


def test_inputs_are_written_by_name_and_not_returned(wd: Path) -> None:
    inputs = [CodeFile("data.csv", b"a,b\n1,2\n3,4\n"), CodeFile("../../up/evil.txt", b"x")]
    code = """
import csv, os
rows = list(csv.DictReader(open("data.csv")))
print(sum(int(r["a"]) + int(r["b"]) for r in rows))
print(sorted(os.listdir(".")))
"""
    result = run(code, wd, inputs)
    assert result.logs == "10\n['data.csv', 'evil.txt']\n"
    assert result.files == []
    assert not (wd.parent.parent / "up").exists()  # the path in the name was dropped
    # Written again unchanged, an input is not "changed by the execution" either.
    assert run("open('data.csv').read()\nNone", wd, inputs).files == []


def test_symlinks_planted_by_the_code_are_never_followed(wd: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("server secret")
    code = f"import os\nos.symlink({str(victim)!r}, 'link.txt')\nos.symlink('/etc', 'etc')"
    result = run(code, wd)
    assert result.ok and result.files == []  # links are not files to return
    # An input with the link's name replaces the link; the target is untouched.
    run("None", wd, [CodeFile("link.txt", b"input")])
    assert victim.read_text() == "server secret"
    assert not (wd / "link.txt").is_symlink() and (wd / "link.txt").read_bytes() == b"input"


# --------------------------------------------------------------------------- isolation


def test_the_environment_has_nothing_of_the_servers(
    wd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "OPENAI_API_KEY": "sk-live-secret-1",
        "ORCHESTRATOR_API_KEY": "sk-live-secret-2",
        "UPSTREAM_API_KEY": "sk-live-secret-3",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    result = run("import json, os\nprint(json.dumps(dict(os.environ)))", wd)
    env = json.loads(result.logs)
    assert env == sandbox_env(probe_isolation(), wd)
    assert env["MPLBACKEND"] == "Agg"
    assert not any(v in result.logs for v in secrets.values())


def test_the_servers_environment_cannot_be_read_from_proc(
    wd: Path, monkeypatch: pytest.MonkeyPatch, namespaces: None
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-secret-proc")
    code = """
import os
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
leaked = []
for pid in pids:
    for part in ("environ", "cmdline"):
        try:
            if b"sk-live-secret-proc" in open(f"/proc/{pid}/{part}", "rb").read():
                leaked.append(pid)
        except OSError:
            pass
print(len(pids) < 5, leaked)
"""
    assert run(code, wd).logs == "True []\n"  # only the sandbox's own processes are there


def test_the_host_file_system_is_out_of_reach(wd: Path, tmp_path: Path, namespaces: None) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not for the sandbox")
    outside.chmod(0o644)
    code = f"""
import os
print(os.getcwd(), os.environ["HOME"])
for path in ({str(outside)!r}, {str(ROOT / "pyproject.toml")!r}):
    print(os.path.exists(path))
for path in ("/usr/evil", "/etc/evil", "/evil"):
    try:
        open(path, "w")
    except OSError as exc:
        print(type(exc).__name__)
open("/tmp/scratch", "w").write("private tmp")
open("/mnt/data/here.txt", "w").write("in the working directory")
"""
    result = run(code, wd)
    assert result.logs.split("\n")[:3] == ["/mnt/data /mnt/data", "False", "False"]
    assert result.logs.count("OSError") == 3  # read-only file systems
    assert [f.name for f in result.files] == ["here.txt"]
    assert (wd / "here.txt").stat().st_uid == os.geteuid()  # the server owns it again
    assert not Path("/tmp/scratch").exists() or Path("/tmp/scratch").read_text() != "private tmp"


def test_the_network_is_unreachable(wd: Path) -> None:
    listener = Listener()
    try:
        socket.create_connection(("127.0.0.1", listener.port), timeout=2).close()
        assert wait_until(lambda: listener.accepted == 1)  # it works from the host
        code = f"""
import socket, subprocess, sys
def attempt(what, fn):
    try:
        fn()
        print(what, "CONNECTED")
    except OSError as exc:
        print(what, "refused", type(exc).__name__)
attempt("tcp", lambda: socket.create_connection(("127.0.0.1", {listener.port}), timeout=2))
attempt("dns", lambda: socket.getaddrinfo("example.com", 443))
child = "import socket; socket.create_connection(('127.0.0.1', {listener.port}), timeout=2)"
print("child exit", subprocess.run([sys.executable, "-c", child], capture_output=True).returncode)
"""
        result = run(code, wd)
        lines = result.logs.splitlines()
        assert lines[0].startswith("tcp refused") and lines[1].startswith("dns refused"), result
        if probe_isolation().network_isolated:
            assert lines[2] == "child exit 1"  # even a separate program gets nowhere
        assert listener.accepted == 1  # nothing from the sandbox arrived
    finally:
        listener.close()


def test_only_loopback_exists_in_the_namespace(wd: Path, namespaces: None) -> None:
    result = run("import socket\nsorted(name for _, name in socket.if_nameindex())", wd)
    assert result.logs == "['lo']\n"


def _can_unshare_network() -> bool:
    code = "import ctypes, sys; sys.exit(ctypes.CDLL(None, use_errno=True).unshare(0x40000000))"
    return subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_namespace_mode_is_used_where_the_kernel_allows_it() -> None:
    if os.geteuid() != 0 or not _can_unshare_network():
        pytest.skip("not root, or network namespaces are not available here")
    isolation = probe_isolation()
    assert (isolation.mode, isolation.network_isolated) == ("namespaces", True)


def _others_can_traverse(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def test_an_unprivileged_server_uses_user_namespaces() -> None:
    """As a normal user the sandbox goes through a user namespace (the server's uid)."""
    system_python = Path("/usr/bin/python3")
    site_packages = Path(next(p for p in sys.path if p.endswith("site-packages")))
    if os.geteuid() != 0 or not system_python.exists():
        pytest.skip("needs root (to become another user) and a system python3")
    version = subprocess.run(
        [system_python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if version != str(sys.version_info[:2]) or not _others_can_traverse(site_packages):
        pytest.skip("the system python3 cannot use this checkout's packages")
    with tempfile.TemporaryDirectory(prefix="orchestrator-userns-") as tmp:
        os.chmod(tmp, 0o777)
        script = """
import asyncio, json, sys
from pathlib import Path
from orchestrator.server.config import SandboxLimits
from orchestrator.server.tools.code_interpreter import probe_isolation, run_code
code = "import os, socket\\nopen('made.txt', 'w').write('x')\\n(os.getuid(), os.getcwd(), [n for _, n in socket.if_nameindex()])"
result = asyncio.run(run_code(code, workdir=Path(sys.argv[1]), inputs=[], limits=SandboxLimits(timeout_seconds=10)))
print(json.dumps([probe_isolation().mode, result.logs, [f.name for f in result.files]]))
"""
        done = subprocess.run(
            [system_python, "-c", script, f"{tmp}/wd"],
            user=65534,
            group=65534,
            extra_groups=[],
            cwd=tmp,
            env={"PYTHONPATH": f"{ROOT}:{site_packages}", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    mode, logs, files = json.loads(done.stdout.strip().splitlines()[-1])
    assert mode == "user-namespaces"
    assert logs == "(65534, '/mnt/data', ['lo'])\n"
    assert files == ["made.txt"]


# --------------------------------------------------------------------------- concurrency


def test_concurrent_executions_do_not_interfere(tmp_path: Path) -> None:
    async def main() -> list[CodeResult]:
        jobs = []
        for n in range(4):
            code = (
                "import os, time\n"
                f"open('mine.txt', 'w').write('{n}')\n"
                "time.sleep(0.3)\n"
                f"print({n}, sorted(os.listdir('.')), open('mine.txt').read())"
            )
            jobs.append(
                run_code(code, workdir=tmp_path / f"t{n}", inputs=[], limits=LIMITS),
            )
        runaway = dataclasses.replace(LIMITS, timeout_seconds=1)
        jobs.append(
            run_code("while True: pass", workdir=tmp_path / "t9", inputs=[], limits=runaway)
        )
        return await asyncio.gather(*jobs)

    *results, runaway = asyncio.run(main())
    for n, result in enumerate(results):
        assert result.logs == f"{n} ['mine.txt'] {n}\n"
        assert result.files == [CodeFile("mine.txt", str(n).encode())]
    assert runaway.error == "Timed out after 1 s"


def test_executions_in_one_directory_take_turns(wd: Path) -> None:
    code = "import time\nwith open('log.txt', 'a') as f:\n    f.write('start\\n')\n    time.sleep(0.2)\n    f.write('end\\n')"

    async def main() -> list[CodeResult]:
        jobs = [run_code(code, workdir=wd, inputs=[], limits=LIMITS) for _ in range(3)]
        return await asyncio.gather(*jobs)

    results = asyncio.run(main())
    assert all(r.ok and [f.name for f in r.files] == ["log.txt"] for r in results), results
    assert (wd / "log.txt").read_text() == "start\nend\n" * 3  # never interleaved


def test_run_code_does_not_block_the_event_loop(wd: Path) -> None:
    async def main() -> tuple[int, CodeResult]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        result = await run_code("import time\ntime.sleep(1)", workdir=wd, inputs=[], limits=LIMITS)
        done.set()
        await task
        return ticks, result

    ticks, result = asyncio.run(main())
    assert result.ok
    assert ticks > 20  # the loop kept running while the code slept for a second


def test_cancelling_run_code_kills_the_execution(wd: Path) -> None:
    token = f"{uuid.uuid4().int % 10**6 + 10**6}.25"
    code = f"import subprocess\nsubprocess.run(['sleep', '{token}'])"

    async def main() -> None:
        task = asyncio.create_task(run_code(code, workdir=wd, inputs=[], limits=LIMITS))
        while not host_processes_with(f"sleep\x00{token}"):
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(main(), timeout=20))
    assert wait_until(lambda: not host_processes_with(f"sleep\x00{token}"), timeout=5)


def test_the_sandbox_dies_with_the_server(tmp_path: Path) -> None:
    """If the server process is killed mid-execution, nothing of the execution survives
    (the bootstrap's stdin is its lifeline)."""
    token = f"{uuid.uuid4().int % 10**6 + 10**6}.375"
    script = f"""
import asyncio
from pathlib import Path
from orchestrator.server.config import SandboxLimits
from orchestrator.server.tools.code_interpreter import run_code
code = "import subprocess\\nsubprocess.Popen(['sleep', '{token}'], start_new_session=True)\\nwhile True: pass"
asyncio.run(run_code(code, workdir=Path({str(tmp_path / "wd")!r}), inputs=[], limits=SandboxLimits(timeout_seconds=60)))
"""
    server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        assert wait_until(lambda: bool(host_processes_with(f"sleep\x00{token}")), timeout=30)
    finally:
        server.kill()
        server.wait()
    assert wait_until(lambda: not host_processes_with(f"sleep\x00{token}"), timeout=5)


def test_nothing_is_left_running_after_a_normal_end(wd: Path) -> None:
    token = f"{uuid.uuid4().int % 10**6 + 10**6}.75"
    code = f"import subprocess\nsubprocess.Popen(['sleep', '{token}'], start_new_session=True)"
    result = run(code, wd)
    assert result.ok
    assert wait_until(lambda: not host_processes_with(f"sleep\x00{token}"), timeout=5)
