"""The code interpreter tool: run model-written Python in a sandboxed subprocess.

``run_code`` (interface 3) runs one cell: a fresh interpreter per execution (variables do
not persist; files in the working directory do), like a Jupyter cell, so the value of a
last bare expression is printed. What the sandbox enforces:

- **isolation**, the strongest the machine allows, probed once and logged
  (:func:`probe_isolation`): ``namespaces`` (as root: new network, pid, mount, ipc and
  uts namespaces, a private read-only root with the working directory at ``/mnt/data``
  as on OpenAI's, and a separate uid per execution); ``user-namespaces`` (the same as a
  normal user, keeping the server's uid); or, where neither works, ``audit-hook``: a
  Python audit hook that refuses network sockets, which native code and child programs
  can get around. Both namespace modes go through a user namespace (which needs no
  capability) in which nested user namespaces are off. The audit-hook mode leaves the
  server's files and secrets reachable, so code runs in it only if the operator opted in
  (``SandboxLimits.isolation`` = ``weak``); otherwise :func:`run_code` raises
  :class:`SandboxUnavailable`. ``ORCHESTRATOR_SANDBOX_ISOLATION`` sets the same choice.
- **no network** in the namespace modes: only a loopback interface exists;
- **limits per execution**, summed over all its processes by a watchdog
  (:mod:`._sandbox_budget`): memory (``memory_mb``), processes and threads, CPU time
  (``cpu_seconds``), and the thread's working directory (``disk_mb``, hidden files
  included); and wall clock (``timeout_seconds``; the process group is killed), output
  (``max_output_bytes``; the rest is drained and dropped). At most ``max_concurrent``
  executions run at once, server-wide;
- **limits per process**: CPU time (``RLIMIT_CPU``), address space (``RLIMIT_AS``), file
  size (``RLIMIT_FSIZE``), processes (``RLIMIT_NPROC``) and open files;
- **nothing of the server to forge**: the code cannot write to the result pipe, and
  output file names are sanitised;
- **a scrubbed environment**: nothing of the server's (no API keys), a minimal ``PATH``,
  ``HOME`` = the working directory, ``MPLBACKEND=Agg``.

The program the subprocess runs is ``_sandbox_boot.py`` beside this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import selectors
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from orchestrator.server.config import SandboxLimits
from orchestrator.server.tools import _sandbox_budget as budgets
from orchestrator.server.tools import _sandbox_workdir as wd

logger = logging.getLogger("orchestrator.sandbox")

BOOT_SCRIPT = Path(__file__).with_name("_sandbox_boot.py")
ISOLATION_ENV = "ORCHESTRATOR_SANDBOX_ISOLATION"
SANDBOX_DIR = "/mnt/data"  # the working directory's path inside the namespace modes

MAX_PROCESSES = 64  # processes and threads of one execution (RLIMIT_NPROC)
MAX_OPEN_FILES = 1024
MAX_RETURNED_FILES = 20
MAX_THREADS = 64  # executions waiting for a slot or running (limits.max_concurrent run)
SETUP_FAILED = 70  # the bootstrap's exit status when it could not build the sandbox
GRACE_SECONDS = 0.5  # after exit, for pipes that a stray process still holds

Mode = Literal["namespaces", "user-namespaces", "audit-hook"]
MODES: tuple[Mode, ...] = ("namespaces", "user-namespaces", "audit-hook")
# What an operator may ask for: the strongest mode or nothing, the strongest or the weak
# one, or one mode by name.
POLICIES = ("auto", "weak", *MODES)
# Preferred sandbox uids/gids: unused by distributions and by systemd's container ranges.
UID_WINDOW = (0x7F000000, 0x7F000000 + (1 << 20))


@dataclass
class CodeFile:
    name: str  # file name relative to the working dir, e.g. "plot.png"
    data: bytes


@dataclass
class CodeResult:
    logs: str  # stdout+stderr interleaved as printed, truncated to limits.max_output_bytes
    ok: bool  # False on exception, timeout, memory or other limit
    error: str | None  # short, human: "Timed out after 30 s", "ZeroDivisionError: ..."
    files: list[CodeFile]  # files created or changed in the working dir by this execution


@dataclass(frozen=True)
class Isolation:
    """How executions are isolated on this machine."""

    mode: Mode
    network_isolated: bool  # enforced by the kernel (True) or only by the audit hook
    detail: str  # one line for logs and reports
    allowed: bool = True  # False: the audit-hook mode without the operator's consent


class SandboxUnavailable(RuntimeError):
    """No isolation the operator accepts works on this machine: code is not run."""


async def run_code(
    code: str, *, workdir: Path, inputs: list[CodeFile], limits: SandboxLimits
) -> CodeResult:
    """Run ``code`` in a fresh sandboxed interpreter with ``workdir`` as its directory.

    ``inputs`` are written into ``workdir`` first (by plain file name). Never raises for
    anything the code does; cancelling the awaiting task kills the execution. Raises
    :class:`SandboxUnavailable` if only an isolation the operator did not accept works.
    """
    loop = asyncio.get_running_loop()
    try:
        policy = isolation_policy(limits.isolation)
        isolation = _probed.get(policy) or await loop.run_in_executor(
            _executor(), probe_isolation, policy
        )
    except ValueError as exc:  # a misconfigured isolation setting
        return CodeResult(logs="", ok=False, error=f"Sandbox error: {exc}", files=[])
    if not isolation.allowed:
        raise SandboxUnavailable(refusal(isolation))
    execution = _Execution()
    future = loop.run_in_executor(
        _executor(), _run, code, Path(workdir), list(inputs), limits, isolation, execution
    )
    try:
        return await future
    except asyncio.CancelledError:
        execution.cancel()
        raise


# --------------------------------------------------------------------------- isolation

_probe_lock = threading.Lock()
_probed: dict[str, Isolation] = {}


def isolation_policy(requested: str | None = None) -> str:
    """The isolation asked for: ``requested`` (a ``SandboxLimits.isolation``) unless that
    is ``auto``, then ``ORCHESTRATOR_SANDBOX_ISOLATION``, then ``auto``."""
    policy = (requested or "auto").strip()
    if policy == "auto":
        policy = os.environ.get(ISOLATION_ENV, "auto").strip() or "auto"
        if policy not in POLICIES:
            raise ValueError(f"{ISOLATION_ENV}={policy!r}: expected one of {POLICIES}")
    if policy not in POLICIES:
        raise ValueError(f"sandbox isolation {policy!r}: expected one of {POLICIES}")
    return policy


def probe_isolation(requested: str | None = None, *, refresh: bool = False) -> Isolation:
    """The isolation executions get under ``requested`` (see :func:`isolation_policy`),
    found by running a probe cell in each candidate mode (strongest first) once per
    policy; logged once. ``refresh`` probes again (tests)."""
    policy = isolation_policy(requested)
    with _probe_lock:
        if refresh:
            _probed.clear()
        if policy in _probed:
            return _probed[policy]
        if policy in ("auto", "weak"):
            # Every stronger mode first: as root without CAP_SYS_ADMIN (a default
            # container) the user namespace of the namespaces mode still works.
            if not sys.platform.startswith("linux"):
                candidates: list[Mode] = []
            elif os.geteuid() == 0:
                candidates = ["namespaces", "user-namespaces"]
            else:
                candidates = ["user-namespaces"]
        else:
            candidates = [policy]  # type: ignore[list-item]
        failures = []
        chosen: Isolation | None = None
        for mode in candidates:
            if mode == "audit-hook":
                break
            reason = _probe_mode(mode)
            if reason is None:
                chosen = Isolation(mode, True, _DETAILS[mode])
                break
            failures.append(f"{mode}: {reason}")
        if chosen is None:
            why = "; ".join(failures) or f"no namespaces on {sys.platform}"
            if policy == "audit-hook":
                why = f"forced by {ISOLATION_ENV}"
            chosen = Isolation(
                "audit-hook",
                False,
                f"{_DETAILS['audit-hook']} ({why})",
                allowed=policy in ("weak", "audit-hook"),
            )
        if not chosen.allowed:
            logger.error("%s", refusal(chosen))
        elif chosen.network_isolated:
            logger.info("code interpreter sandbox: %s (%s)", chosen.mode, chosen.detail)
        else:
            logger.warning("code interpreter sandbox: %s: %s", chosen.mode, chosen.detail)
        _probed[policy] = chosen
        return chosen


def refusal(isolation: Isolation) -> str:
    """Why code is not run under ``isolation`` and what the operator can do about it."""
    return (
        "The code interpreter is disabled on this server: no sandbox isolation works on "
        f"this machine, only the weak audit-hook mode, in which {isolation.detail}. Give "
        "the server user namespaces, or start it with --sandbox-isolation weak (or "
        f"{ISOLATION_ENV}=weak) to run code anyway"
    )


_DETAILS: dict[str, str] = {
    "namespaces": "no network; new network, pid, mount, ipc and uts namespaces, a private "
    "read-only root with the working directory at /mnt/data, a separate uid per execution",
    "user-namespaces": "no network; a user namespace with new network, pid, mount, ipc and "
    "uts namespaces, a private read-only root with the working directory at /mnt/data",
    "audit-hook": "network access is refused by a Python audit hook only (native code and "
    "child programs can still reach the network and the server over loopback); the code "
    "runs as the server's user and can read what it can: the server's database and files, "
    "the environment of the server process (its API keys) through /proc",
}

_PROBE_CODE = """\
import socket, subprocess, sys
r = subprocess.run([sys.executable, "-I", "-c", "import email.parser"], capture_output=True)
with open("probe.txt", "w") as f:
    f.write("ok")
print(sorted(name for _, name in socket.if_nameindex()), r.returncode, r.stderr[-300:])
"""


def _probe_mode(mode: Mode) -> str | None:
    """None if ``mode`` works here (no network interface but loopback, a child interpreter
    starts, the working directory is writable), else why not."""
    if mode == "namespaces" and _uid_window() is None:
        return "no unused uid range to run executions under"
    limits = SandboxLimits(timeout_seconds=20, memory_mb=512)
    with tempfile.TemporaryDirectory(prefix="orchestrator-sandbox-probe-") as tmp:
        isolation = Isolation(mode, True, "probe")
        result = _run(_PROBE_CODE, Path(tmp), [], limits, isolation, _Execution())
    if not result.ok:
        return result.error or "failed"
    if not result.logs.startswith("['lo'] 0 "):
        return f"unexpected probe output: {result.logs.strip()[:300]}"
    if [f.name for f in result.files] != ["probe.txt"]:
        return "the working directory was not writable"
    return None


def _uid_window() -> tuple[int, int] | None:
    """Ids usable as sandbox uid and gid (mapped in this process's user namespace)."""
    intervals = None
    for path in ("/proc/self/uid_map", "/proc/self/gid_map"):
        try:
            lines = Path(path).read_text().split()
        except OSError:
            return UID_WINDOW
        ranges = [
            (int(lines[i]), int(lines[i]) + int(lines[i + 2])) for i in range(0, len(lines), 3)
        ]
        intervals = ranges if intervals is None else _intersect(intervals, ranges)
    for lo, hi in intervals or []:
        if lo <= UID_WINDOW[0] and UID_WINDOW[1] <= hi:
            return UID_WINDOW
    usable = [(max(lo, 1000), hi) for lo, hi in intervals or [] if hi - max(lo, 1000) >= 2048]
    if not usable:
        return None
    lo, hi = max(usable, key=lambda r: r[1] - r[0])
    return ((lo + hi) // 2, hi - 2)  # the upper half, clear of the usual user ids


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo < hi:
                out.append((lo, hi))
    return out


class _UidPool:
    """A distinct uid per running execution: RLIMIT_NPROC counts per uid, and executions
    cannot signal or read each other's processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: set[int] = set()

    def acquire(self) -> int:
        window = _uid_window() or UID_WINDOW
        with self._lock:
            while True:
                uid = random.randrange(*window)
                if uid not in self._used:
                    self._used.add(uid)
                    return uid

    def release(self, uid: int) -> None:
        with self._lock:
            self._used.discard(uid)


class _WorkdirLocks:
    """A lock per working directory, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextlib.contextmanager
    def hold(self, workdir: Path) -> Iterator[None]:
        key = os.path.abspath(workdir)
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]


class _Slots:
    """A server-wide cap on executions running at once (the latest limit asked for)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0

    @contextlib.contextmanager
    def hold(self, limit: int, execution: _Execution) -> Iterator[bool]:
        """Yields True with a slot, False if the execution was cancelled while waiting."""
        with self._cond:
            while self._running >= max(1, limit) and not execution.cancelled:
                self._cond.wait(0.1)
            if execution.cancelled:
                yield False
                return
            self._running += 1
        try:
            yield True
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify()


_uids = _UidPool()
_slots = _Slots()
_workdir_locks = _WorkdirLocks()
_executor_lock = threading.Lock()
_executor_instance: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    # Our own pool: executions block a thread for up to their timeout and must not
    # starve the loop's default executor.
    global _executor_instance
    with _executor_lock:
        if _executor_instance is None:
            _executor_instance = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="sandbox")
        return _executor_instance


# --------------------------------------------------------------------------- one execution


class _Execution:
    """The handle between ``run_code`` and the thread running one execution: cancelling
    wakes the runner, which stops the sandbox the same way as on a timeout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pgid: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self.cancelled = False

    @property
    def wake_fd(self) -> int:
        return self._wake_r

    def started(self, pgid: int) -> None:
        with self._lock:
            self._pgid = pgid

    def kill(self) -> None:
        """SIGKILL the whole process group, while its leader is unreaped (until then its
        pid, which is the group id, cannot be reused)."""
        with self._lock:
            if self._pgid is not None:
                with contextlib.suppress(OSError):
                    os.killpg(self._pgid, signal.SIGKILL)

    def reaped(self) -> None:
        with self._lock:
            self._pgid = None

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if not self._closed:
                os.write(self._wake_w, b"x")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._wake_r)
                os.close(self._wake_w)


@dataclass
class _Raw:
    """What the subprocess produced, before it is turned into a CodeResult."""

    output: bytes
    output_total: int
    records: list[dict]
    returncode: int
    timed_out: bool
    over_budget: str | None = None  # which per-execution budget it went over


def _run(
    code: str,
    workdir: Path,
    inputs: list[CodeFile],
    limits: SandboxLimits,
    isolation: Isolation,
    execution: _Execution,
) -> CodeResult:
    try:
        # One execution at a time per directory: each hands the directory to its own
        # uid and takes it back, and reports what changed while it ran.
        with _slots.hold(limits.max_concurrent, execution) as running, _workdir_locks.hold(workdir):
            if not running or execution.cancelled:
                return CodeResult(logs="", ok=False, error="Cancelled", files=[])
            return _run_unguarded(code, workdir, inputs, limits, isolation, execution)
    except Exception as exc:  # the caller must get a result, whatever broke
        logger.exception("code interpreter sandbox failed")
        return CodeResult(logs="", ok=False, error=f"Sandbox error: {exc}", files=[])
    finally:
        execution.close()


def _run_unguarded(
    code: str,
    workdir: Path,
    inputs: list[CodeFile],
    limits: SandboxLimits,
    isolation: Isolation,
    execution: _Execution,
) -> CodeResult:
    workdir.mkdir(parents=True, exist_ok=True)
    budget = execution_budget(limits)
    notes = wd.write_inputs(workdir, [(f.name, f.data) for f in inputs])
    present = budgets.entries(workdir, budget.disk_entries)
    full = budgets.over_disk(budget, budgets.disk_usage(workdir, budget.disk_entries))
    if full is not None:  # before running anything: the thread's quota is used up
        return CodeResult(logs="", ok=False, error=full, files=[])
    uid = _uids.acquire() if isolation.mode == "namespaces" else None
    owner = (uid, uid) if uid is not None else None
    server = (os.geteuid(), os.getegid()) if uid is not None else None
    try:
        before = wd.scan(workdir, chown_to=owner, hash_since_ns=time.time_ns() - wd.HASH_WINDOW_NS)
        try:
            watchdog = budgets.Watchdog(budget, workdir)
            raw = _spawn(code, workdir, limits, isolation, uid, execution, watchdog)
        finally:
            # Take the directory back (the code's processes are gone), whatever happened.
            after = wd.scan(workdir, chown_to=server)
    finally:
        if uid is not None:
            _uids.release(uid)
    if budgets.over_disk(budget, budgets.disk_usage(workdir, budget.disk_entries)):
        # Overshot between two samples: what this execution added goes, until it fits.
        removed = budgets.trim(workdir, set(present), budget)
        after = wd.scan(workdir)
        if removed:
            shown = ", ".join(repr(r) for r in removed[:5]) + (", ..." if len(removed) > 5 else "")
            notes.append(f"removed to keep the working directory within its quota: {shown}")
        raw.over_budget = raw.over_budget or (
            f"Disk quota exceeded: the working directory may hold {limits.disk_mb} MB"
        )
    names = wd.changed_files(workdir, before, after)
    found, file_notes = wd.read_files(
        workdir,
        names,
        max_files=MAX_RETURNED_FILES,
        max_file_bytes=limits.max_file_bytes,
        max_total_bytes=2 * limits.max_file_bytes,
    )
    notes += file_notes
    if before.truncated or after.truncated:
        notes.append(
            f"the working directory has more than {wd.MAX_SCANNED_ENTRIES} entries; "
            "changes beyond them were not looked for"
        )
    files = []
    for name, data in found:
        shown = wd.output_name(name)
        if shown != name:
            notes.append(f"output file {name!r} is returned as {shown!r}")
        files.append(CodeFile(shown, data))
    error = _error(raw, limits, execution)
    logs = _logs(raw, limits, notes)
    return CodeResult(logs=logs, ok=error is None, error=error, files=files)


def execution_budget(limits: SandboxLimits) -> budgets.Budget:
    return budgets.Budget(
        memory_bytes=limits.memory_mb * 1024 * 1024,
        tasks=MAX_PROCESSES + 1,  # and the bootstrap that supervises them
        cpu_seconds=limits.cpu_seconds or _cpu_seconds(limits),
        disk_bytes=limits.disk_mb * 1024 * 1024,
        disk_entries=wd.MAX_SCANNED_ENTRIES,
    )


def _cpu_seconds(limits: SandboxLimits) -> int:
    return max(1, math.ceil(limits.timeout_seconds)) + 1


def sandbox_env(isolation: Isolation, workdir: Path) -> dict[str, str]:
    """The whole environment of an execution: nothing is inherited from the server."""
    home = SANDBOX_DIR if isolation.mode != "audit-hook" else str(workdir.resolve())
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "MPLBACKEND": "Agg",
        # For Python programs the code starts (the cell itself runs with -I -u -B).
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # glibc reserves 64 MB of address space per thread arena; RLIMIT_AS counts it.
        "MALLOC_ARENA_MAX": "2",
    }


def _payload(
    code: str, limits: SandboxLimits, isolation: Isolation, uid: int | None, result_fd: int
) -> bytes:
    body = json.dumps(
        {
            "code": code,
            "mode": isolation.mode,
            "uid": uid,
            "gid": uid,
            "result_fd": result_fd,
            "memory_mb": limits.memory_mb,
            "limits": {
                "memory_bytes": limits.memory_mb * 1024 * 1024,
                "cpu_seconds": max(1, math.ceil(limits.cpu_seconds or _cpu_seconds(limits))),
                "file_bytes": limits.max_file_bytes,
                "open_files": MAX_OPEN_FILES,
                # Meaningful only where the count is this execution's own (not root's).
                "processes": MAX_PROCESSES if isolation.mode != "audit-hook" else None,
                "tmp_bytes": 2 * limits.max_file_bytes,
                "shm_bytes": limits.max_file_bytes,
            },
        }
    ).encode()
    return struct.pack(">Q", len(body)) + body


def _spawn(
    code: str,
    workdir: Path,
    limits: SandboxLimits,
    isolation: Isolation,
    uid: int | None,
    execution: _Execution,
    watchdog: budgets.Watchdog,
) -> _Raw:
    result_r, result_w = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-u", "-B", str(BOOT_SCRIPT)],
            cwd=workdir,
            env=sandbox_env(isolation, workdir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(result_w,),
            start_new_session=True,  # its own process group, killed as a whole
        )
    except BaseException:
        os.close(result_r)
        raise
    finally:
        os.close(result_w)
    execution.started(proc.pid)
    try:
        return _supervise(
            proc, result_r, result_w, code, limits, isolation, uid, execution, watchdog
        )
    finally:
        # Whatever is left of the group (a stray background process) goes with it.
        execution.kill()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        os.close(result_r)
        proc.wait()
        execution.reaped()


def _supervise(
    proc: subprocess.Popen[bytes],
    result_r: int,
    result_fd: int,  # the number the write end has in the child
    code: str,
    limits: SandboxLimits,
    isolation: Isolation,
    uid: int | None,
    execution: _Execution,
    watchdog: budgets.Watchdog,
) -> _Raw:
    """Feed the payload, collect output and results, enforce the wall clock.

    Stopping (timeout, cancel) closes the bootstrap's stdin first: it then kills the cell
    and everything the cell started, even processes that left the group. A second later
    the group is SIGKILLed regardless.
    """
    assert proc.stdin is not None and proc.stdout is not None
    deadline = time.monotonic() + limits.timeout_seconds
    try:
        # Small next to a pipe buffer, and the bootstrap reads it first thing.
        proc.stdin.write(_payload(code, limits, isolation, uid, result_fd))
        proc.stdin.flush()
    except OSError:
        pass  # it died at once; its exit status tells
    try:
        exit_fd: int | None = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        exit_fd = None

    out = bytearray()
    out_total = 0
    result = bytearray()
    timed_out = False
    over_budget: str | None = None
    next_check = time.monotonic()
    stop_at: float | None = None  # when we asked it to stop
    exited_at: float | None = None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout.fileno(), selectors.EVENT_READ, "out")
        sel.register(result_r, selectors.EVENT_READ, "result")
        sel.register(execution.wake_fd, selectors.EVENT_READ, "cancel")
        if exit_fd is not None:
            sel.register(exit_fd, selectors.EVENT_READ, "exit")
        streams = 2
        try:
            while streams:
                now = time.monotonic()
                if exited_at is None and exit_fd is None and _exited(proc.pid):
                    exited_at = now
                if stop_at is None and exited_at is None and now >= next_check:
                    over_budget = watchdog.check(proc.pid)  # kills the execution if over
                    next_check = time.monotonic() + watchdog.INTERVAL
                stop = execution.cancelled or now >= deadline or over_budget is not None
                if stop and stop_at is None and exited_at is None:
                    timed_out = not execution.cancelled and over_budget is None
                    stop_at = now
                    proc.stdin.close()  # the lifeline
                if stop_at is not None and now >= stop_at + 1.0:
                    execution.kill()
                if exited_at is not None and now >= exited_at + GRACE_SECONDS:
                    break  # a process outside our reach holds the pipes
                if stop_at is not None and now >= stop_at + 2.0:
                    break
                waits = [deadline - now if stop_at is None else stop_at + 1.0 - now]
                if stop_at is None and exited_at is None:
                    waits.append(next_check - now)
                if exited_at is not None:
                    waits.append(exited_at + GRACE_SECONDS - now)
                if exit_fd is None:
                    waits.append(0.05)
                for key, _ in sel.select(max(0.0, min(waits))):
                    if key.data in ("exit", "cancel"):
                        sel.unregister(key.fd)
                        if key.data == "exit":
                            exited_at = time.monotonic()
                        continue
                    try:
                        chunk = os.read(key.fd, 65536)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        sel.unregister(key.fd)
                        streams -= 1
                    elif key.data == "out":
                        out_total += len(chunk)
                        room = limits.max_output_bytes - len(out)
                        if room > 0:
                            out += chunk[:room]
                    elif len(result) < 65536:
                        result += chunk
        finally:
            if exit_fd is not None:
                os.close(exit_fd)
    returncode = _wait_or_kill(proc, execution)
    return _Raw(bytes(out), out_total, _records(bytes(result)), returncode, timed_out, over_budget)


def _wait_or_kill(proc: subprocess.Popen[bytes], execution: _Execution) -> int:
    try:
        return proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        execution.kill()
        return proc.wait()


def _exited(pid: int) -> bool:
    """Whether ``pid`` has exited, without reaping it (no pidfd on this system)."""
    if not hasattr(os, "waitid"):
        return False  # then the end of its output tells, or the deadline
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _records(data: bytes) -> list[dict]:
    records = []
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("kind"), str):
            records.append(record)
    return records


def _seconds(value: float) -> str:
    return f"{value:g}"


def _error(raw: _Raw, limits: SandboxLimits, execution: _Execution) -> str | None:
    if execution.cancelled:
        return "Cancelled"
    if raw.over_budget:
        return raw.over_budget
    if raw.timed_out:
        return f"Timed out after {_seconds(limits.timeout_seconds)} s"
    for record in raw.records:
        if record["kind"] == "setup_error":
            logger.warning("code interpreter sandbox setup failed: %s", record.get("error"))
            return f"Sandbox setup failed: {record.get('error')}"
    # The supervisor's record comes last; the cell's exception record before it.
    status = next((r for r in reversed(raw.records) if r["kind"] in ("exit", "signal")), None)
    exception = next((r for r in raw.records if r["kind"] == "exception"), None)
    if status is None:  # the supervisor itself did not finish normally
        if raw.returncode < 0:
            status = {"kind": "signal", "signal": -raw.returncode}
        else:
            status = {"kind": "exit", "code": raw.returncode}
    if status["kind"] == "signal":
        return _signal_error(int(status.get("signal", 0)), limits)
    code = status.get("code")
    if code == 0:
        return None
    if exception is not None and isinstance(exception.get("error"), str):
        return exception["error"]
    if code == SETUP_FAILED:
        return "Sandbox setup failed"
    return f"Exited with status {code}"


def _signal_error(number: int, limits: SandboxLimits) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGXCPU:
        cpu = max(1, math.ceil(limits.cpu_seconds or _cpu_seconds(limits)))
        return f"CPU time limit exceeded ({cpu} s)"
    if number == signal.SIGXFSZ:
        return f"File size limit exceeded ({limits.max_file_bytes} bytes)"
    if number == signal.SIGKILL:
        return f"Killed (SIGKILL), possibly out of memory (limit {limits.memory_mb} MB)"
    return f"Crashed with {name}"


def _logs(raw: _Raw, limits: SandboxLimits, notes: list[str]) -> str:
    text = raw.output.decode("utf-8", "replace")
    if raw.output_total > len(raw.output):
        text = text.rstrip("\ufffd")  # a character cut in half at the limit
        if text and not text.endswith("\n"):
            text += "\n"
        text += (
            f"[output truncated: {raw.output_total} bytes were printed, "
            f"the first {limits.max_output_bytes} are shown]\n"
        )
    for note in notes:
        if text and not text.endswith("\n"):
            text += "\n"
        text += f"[sandbox] {note}\n"
    return text
