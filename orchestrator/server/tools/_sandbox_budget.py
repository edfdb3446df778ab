"""Budgets that hold for a whole execution, not per process: memory, tasks (processes and
threads), CPU time, and the bytes and entries of its working directory.

Resource limits (``RLIMIT_*``) count per process, so six forked children each get the
whole memory limit. A watchdog in the server samples the execution's process tree (the
bootstrap and every descendant: in the namespace modes the pid namespace keeps them
below it, in the audit-hook mode the bootstrap is their subreaper) and its working
directory, and kills the execution when a sum goes over. Memory is the proportional set
size (shared pages divided among the processes that map them, so a fork is not counted
twice), read from ``/proc/<pid>/smaps_rollup``, or the resident size where that is not
readable, plus the memory files (``memfd_create``) the processes hold open, which no
process's resident size shows until mapped (a mapped one counts twice: on the safe side).
System V shared memory is bounded in the sandbox's IPC namespace by the bootstrap; the
private ``/tmp`` and ``/dev/shm`` are size-limited tmpfs. A sample can only see what exists at that moment: a budget can be overshot for
up to one sampling interval; the per-process limits bound how far.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
MB = 1024 * 1024


@dataclass(frozen=True)
class Budget:
    memory_bytes: int
    tasks: int
    cpu_seconds: float
    disk_bytes: int  # the working directory, hidden files included
    disk_entries: int


@dataclass(frozen=True)
class TreeUsage:
    pids: tuple[int, ...]
    memory_bytes: int
    tasks: int
    cpu_seconds: float
    starts: dict[int, bytes]  # pid -> start time, to tell a reused pid


@dataclass(frozen=True)
class DiskUsage:
    bytes: int
    entries: int  # stops counting past the budget's entries


def _stat(pid: int | str) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()
    except OSError:
        return None


def tree_usage(root: int, known: dict[int, bytes] | None = None, exact_above: int = 0) -> TreeUsage:
    """``root`` and all its descendants, found by their parent pids in ``/proc``; or,
    cheaper, only the ``known`` ones (pid -> start time, from a previous full sample)
    that are still the same processes. Memory is the resident size while that is at
    most ``exact_above`` (no less than the proportional one, and cheap to read), else the
    proportional size (which walks the page tables)."""
    if known is None:
        names: list[int | str] = [n for n in os.listdir("/proc") if n.isdigit()]
    else:
        names = list(known)
    stats = {int(n): fields for n in names if (fields := _stat(n)) is not None}
    if known is not None:
        # A pid reused by another process since the full sample is not ours.
        tree = [pid for pid, fields in stats.items() if fields[19] == known[pid]]
    else:
        children: dict[int, list[int]] = {}
        for pid, fields in stats.items():
            children.setdefault(int(fields[1]), []).append(pid)
        tree, stack = [], [root] if root in stats else []
        while stack:
            pid = stack.pop()
            tree.append(pid)
            stack.extend(children.get(pid, ()))
    rss = tasks = ticks = 0
    for pid in tree:
        # After ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        # utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss
        fields = stats[pid]
        ticks += sum(int(x) for x in fields[11:15])
        tasks += int(fields[17])
        rss += int(fields[21]) * PAGE
    memory = rss
    if rss > exact_above:
        memory = sum(_pss(pid, int(stats[pid][21]) * PAGE) for pid in tree)
    starts = {pid: stats[pid][19] for pid in tree}
    return TreeUsage(tuple(tree), memory, tasks, ticks / TICKS, starts)


def _pss(pid: int, rss: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss


def entries(workdir: Path, max_entries: int) -> dict[str, tuple[int, int]]:
    """Every entry under ``workdir`` (not following symlinks, hidden ones too) as
    ``relpath -> (allocated bytes, mode)``; stops past ``max_entries``."""
    found: dict[str, tuple[int, int]] = {}
    stack = [""]
    while stack and len(found) <= max_entries:
        rel_dir = stack.pop()
        try:
            scanner = os.scandir(workdir / rel_dir if rel_dir else workdir)
        except OSError:
            continue
        with scanner:
            for entry in scanner:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                found[rel] = (st.st_blocks * 512, st.st_mode)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(rel)
    return found


def disk_usage(workdir: Path, max_entries: int) -> DiskUsage:
    found = entries(workdir, max_entries)
    return DiskUsage(sum(size for size, _ in found.values()), len(found))


def trim(workdir: Path, before: set[str], budget: Budget) -> list[str]:
    """Remove what an execution added (largest first) until the directory is within the
    budget again; the names removed. What was there before is left alone."""
    found = entries(workdir, budget.disk_entries)
    total, count = sum(size for size, _ in found.values()), len(found)
    removed = []
    added = sorted((rel for rel in found if rel not in before), key=lambda r: -found[r][0])
    for rel in added:
        if total <= budget.disk_bytes and count <= budget.disk_entries:
            break
        path = workdir / rel
        if not os.path.lexists(path):  # went with a directory removed before
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(found[rel][1]):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed.append(rel)
        total -= found[rel][0]
        count -= 1
    return removed


def memory_file_bytes(pids: tuple[int, ...]) -> int:
    """Bytes of the distinct memory files (memfd) open in ``pids``."""
    seen: dict[tuple[int, int], int] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            path = f"/proc/{pid}/fd/{fd}"
            try:
                if not os.readlink(path).startswith("/memfd:"):
                    continue
                st = os.stat(path)
            except OSError:
                continue
            seen[(st.st_dev, st.st_ino)] = st.st_blocks * 512
    return sum(seen.values())


def kill_tree(pids: tuple[int, ...]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class Watchdog:
    """Samples one execution; :meth:`check` says why it must stop, if it must."""

    INTERVAL = 0.05  # seconds between samples of the known processes
    FULL_EVERY = 0.25  # seconds between walks of /proc for new ones (costlier)

    def __init__(self, budget: Budget, workdir: Path) -> None:
        self.budget = budget
        self.workdir = workdir
        self._disk_every = self.INTERVAL
        self._next_disk = 0.0
        self._memfd_bytes = 0
        self._known: dict[int, bytes] = {}
        self._next_full = 0.0

    def check(self, root: int) -> str | None:
        now = time.monotonic()
        exact_above = self.budget.memory_bytes - self._memfd_bytes
        if now >= self._next_full:
            usage = tree_usage(root, None, exact_above)
            self._known = usage.starts
            self._next_full = now + self.FULL_EVERY
        else:
            usage = tree_usage(root, self._known, exact_above)
        if now >= self._next_disk:  # the slower samples: memory files and the directory
            self._memfd_bytes = memory_file_bytes(usage.pids)
        usage = dataclasses.replace(usage, memory_bytes=usage.memory_bytes + self._memfd_bytes)
        reason = over_tree(self.budget, usage)
        if reason is None and now >= self._next_disk:
            disk = disk_usage(self.workdir, self.budget.disk_entries)
            # A large directory costs more to walk: sample it less often.
            self._disk_every = max(self.INTERVAL, 10 * (time.monotonic() - now))
            self._next_disk = time.monotonic() + self._disk_every
            reason = over_disk(self.budget, disk)
        if reason is not None:
            kill_tree(usage.pids)
        return reason


def over_tree(budget: Budget, usage: TreeUsage) -> str | None:
    if usage.memory_bytes > budget.memory_bytes:
        return (
            f"Memory limit exceeded: the execution's processes used "
            f"{usage.memory_bytes // MB} MB together (limit {budget.memory_bytes // MB} MB)"
        )
    if usage.tasks > budget.tasks:
        return (
            f"Too many processes: the execution ran {usage.tasks} processes and threads "
            f"(limit {budget.tasks})"
        )
    if usage.cpu_seconds > budget.cpu_seconds:
        return (
            f"CPU time limit exceeded: the execution's processes used "
            f"{usage.cpu_seconds:.1f} s together (limit {budget.cpu_seconds:g} s)"
        )
    return None


def over_disk(budget: Budget, disk: DiskUsage) -> str | None:
    if disk.entries > budget.disk_entries:
        return (
            f"Disk quota exceeded: the working directory has more than {budget.disk_entries} "
            "files and directories"
        )
    if disk.bytes > budget.disk_bytes:
        return (
            f"Disk quota exceeded: the working directory holds {disk.bytes // MB} MB "
            f"(limit {budget.disk_bytes // MB} MB)"
        )
    return None
