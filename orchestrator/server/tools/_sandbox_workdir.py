"""The sandbox's working directory as seen from the server: inputs in, changed files out.

The code that ran there is untrusted, so every path is handled without following
symlinks it may have planted: inputs replace whatever entry has their name, and files
are read one component at a time with ``O_NOFOLLOW`` (a link to ``/etc/shadow`` or to
the server's database must never come back as an output file).
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# Hash files modified this recently before a run: a change within the file system's
# timestamp granularity would not show in (size, mtime) alone.
HASH_WINDOW_NS = 2_000_000_000
HASH_MAX_BYTES = 16 * 1024 * 1024
MAX_SCANNED_ENTRIES = 50_000


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    inode: int
    digest: bytes | None = None


@dataclass
class Snapshot:
    files: dict[str, FileState] = field(default_factory=dict)
    truncated: bool = False  # more entries than MAX_SCANNED_ENTRIES


def ignored(relpath: str) -> bool:
    """Caches and tool state, not outputs: ``__pycache__`` and dot-files/directories
    (HOME is the working directory, so libraries keep ``~/.cache`` and such there)."""
    return any(part == "__pycache__" or part.startswith(".") for part in relpath.split("/"))


def output_name(relpath: str) -> str:
    """``relpath`` as an output file name: control and format characters (newlines, bidi
    overrides such as U+202E that make ``gpj.exe`` look like ``exe.jpg``) and bytes that
    are not UTF-8 become ``_``."""
    return "".join(
        "_" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") else c
        for c in relpath
    )


def safe_input_name(name: str) -> str | None:
    """The plain file name an input is written under (uploads may carry paths)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "").strip()
    return None if base in ("", ".", "..") else base


def write_inputs(workdir: Path, inputs: list[tuple[str, bytes]]) -> list[str]:
    """Write each ``(name, data)`` into ``workdir``; return notes about skipped ones."""
    notes: list[str] = []
    for raw_name, data in inputs:
        name = safe_input_name(raw_name)
        if name is None:
            notes.append(f"input file {raw_name!r} was not written: it has no usable name")
            continue
        path = workdir / name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            notes.append(f"input file {name!r} was not written: a directory has that name")
            continue
        unchanged = (
            st is not None
            and stat.S_ISREG(st.st_mode)
            and st.st_size == len(data)
            and _read_regular(workdir, name, len(data)) == data
        )
        if unchanged:
            continue  # keep its mtime, so it is not reported as changed by the run
        if st is not None:
            os.unlink(path)  # a symlink or stale file: replace it, never write through it
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644
        )
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    return notes


def scan(
    workdir: Path,
    *,
    chown_to: tuple[int, int] | None = None,
    hash_since_ns: int | None = None,
) -> Snapshot:
    """Sizes and mtimes of the regular files under ``workdir`` (not ignored ones).

    ``chown_to`` also hands every entry to that uid/gid on the way (symlinks themselves,
    never their targets), so a sandbox user can work in the directory and the server
    takes it back afterwards. ``hash_since_ns`` hashes files modified since then.
    """
    snap = Snapshot()
    if chown_to is not None:
        os.chown(workdir, *chown_to, follow_symlinks=False)
    count = 0
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = list(os.scandir(workdir / rel_dir if rel_dir else workdir))
        except OSError:
            continue
        for entry in entries:
            count += 1
            if count > MAX_SCANNED_ENTRIES:
                snap.truncated = True
                return snap
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if chown_to is not None:
                    os.chown(entry.path, *chown_to, follow_symlinks=False)
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(rel)
            elif stat.S_ISREG(st.st_mode) and not ignored(rel):
                digest = None
                if (
                    hash_since_ns is not None
                    and st.st_mtime_ns >= hash_since_ns
                    and st.st_size <= HASH_MAX_BYTES
                ):
                    digest = _digest(workdir, rel, st.st_size)
                snap.files[rel] = FileState(st.st_size, st.st_mtime_ns, st.st_ino, digest)
    return snap


def changed_files(workdir: Path, before: Snapshot, after: Snapshot) -> list[str]:
    """Files created or modified between the two snapshots, by name."""
    names = []
    for rel, now in sorted(after.files.items()):
        then = before.files.get(rel)
        if then is None or (then.size, then.mtime_ns, then.inode) != (
            now.size,
            now.mtime_ns,
            now.inode,
        ):
            names.append(rel)
            continue
        if then.digest is not None and _digest(workdir, rel, now.size) != then.digest:
            names.append(rel)
    return names


def read_files(
    workdir: Path, names: list[str], *, max_files: int, max_file_bytes: int, max_total_bytes: int
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Read changed files for the result, within the caps; notes say what was left out."""
    out: list[tuple[str, bytes]] = []
    skipped: list[str] = []
    total = 0
    for rel in names:
        if len(out) >= max_files:
            skipped.append(rel)
            continue
        data = _read_regular(workdir, rel, max_file_bytes)
        if data is None or total + len(data) > max_total_bytes:
            skipped.append(rel)
            continue
        total += len(data)
        out.append((rel, data))
    notes = []
    if skipped:
        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        notes.append(
            f"{len(skipped)} changed file(s) not returned ({shown}): at most {max_files} "
            f"files of {max_file_bytes} bytes each, {max_total_bytes} bytes in all"
        )
    return out, notes


def _digest(workdir: Path, rel: str, size_hint: int) -> bytes | None:
    data = _read_regular(workdir, rel, max(size_hint, HASH_MAX_BYTES))
    return None if data is None else hashlib.sha256(data).digest()


def _read_regular(workdir: Path, rel: str, max_bytes: int) -> bytes | None:
    """The bytes of regular file ``rel`` under ``workdir``, or None if any component is a
    symlink, it is not a regular file, or it is larger than ``max_bytes``."""
    parts = rel.split("/")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        dir_fd = os.open(workdir, flags | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            next_fd = os.open(part, flags | os.O_DIRECTORY, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
        fd = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        os.close(dir_fd)
        return None
    os.close(dir_fd)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        data = f.read(max_bytes + 1)
    return None if len(data) > max_bytes else data
