"""Paths written in YAML files: relative to that file, never outside the project.

Files are read once per load and hashed from those same bytes (``FileRef``), so the
reconciler uploads exactly what it compared.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path

from orchestrator.project.diagnostics import Diagnostics
from orchestrator.project.specs import FileRef, Location

# The Files API's per-file limit.
MAX_FILE_BYTES = 512 * 1024 * 1024
# Characters multipart upload names do not carry unchanged.
_UNSENDABLE = re.compile(r'[\\"\x00-\x1f\x7f]')
_GLOB_CHARS = set("*?[")


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in _GLOB_CHARS)


class PathResolver:
    """Resolves paths and globs inside one project root and reads files once."""

    def __init__(self, root: Path, diags: Diagnostics) -> None:
        self.root = root.resolve()
        self.diags = diags
        self._refs: dict[Path, FileRef | None] = {}

    def inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def unreadable_name(self, path: Path, what: str) -> bool:
        """Report a file whose name is not UTF-8 (the API and lock files store names as
        text); True if it was reported. Located at its folder: the name cannot be printed."""
        try:
            path.name.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return False
        shown = os.fsencode(self.rel(path)).decode("utf-8", "backslashreplace")
        self.diags.error(
            Location(path.parent),
            f"{what} name '{shown}' is not valid UTF-8: rename the file (names must be text)",
        )
        return True

    def unsendable_name(self, path: Path, what: str) -> bool:
        """Report a name an upload cannot carry unchanged (True if reported): multipart
        form data escapes or drops backslashes, quotes and control characters, so the
        server's name never matches and every apply would upload the file again."""
        bad = sorted(set(_UNSENDABLE.findall(path.name)))
        if not bad:
            return False
        shown = ", ".join(repr(c) for c in bad)
        self.diags.error(
            Location(path.parent),
            f"{what} name {path.name!r} contains {shown}, which an upload cannot carry "
            "unchanged (the server would store another name, and every apply would upload "
            "it again): rename the file",
        )
        return True

    def outside(self, path: Path, what: str) -> bool:
        """Report a file that is (or links to) something outside the project root."""
        if self.inside(path):
            return False
        self.diags.error(
            Location(path),
            f"{what} leads outside the project root ({self.root}) to {path.resolve()}: a "
            "symlinked definition must point inside the project; copy the file in instead",
        )
        return True

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def _escapes(self, written: str, target: Path, loc: Location, what: str) -> bool:
        if self.inside(target):
            return False
        self.diags.error(
            loc,
            f"{what} '{written}' is outside the project root ({self.root}): paths must stay "
            "inside the project; move the file into it",
        )
        return True

    def _unusable(self, written: str, loc: Location, what: str) -> bool:
        if "\0" not in written:
            return False
        self.diags.error(
            loc, f"{what} {written!r} contains a NUL character, which no path can hold"
        )
        return True

    def file(self, base: Path, written: str, loc: Location, what: str) -> Path | None:
        """One existing file, relative to ``base`` (the folder of the YAML file)."""
        if self._unusable(written, loc, what):
            return None
        target = (base / written).resolve()
        if self._escapes(written, target, loc, what):
            return None
        if not target.exists():
            self.diags.error(loc, f"{what} '{written}' does not exist (looked for {target})")
            return None
        if not target.is_file():
            self.diags.error(loc, f"{what} '{written}' is a folder, not a file")
            return None
        return target

    def glob(self, base: Path, pattern: str, loc: Location, what: str) -> list[Path]:
        """The files a glob matches (sorted); a diagnostic if it matches none."""
        if self._unusable(pattern, loc, what):
            return []
        if not is_glob(pattern):
            found = self.file(base, pattern, loc, what)
            return [found] if found else []
        # The fixed part of the pattern must already stay inside the project.
        prefix: list[str] = []
        for part in Path(pattern).parts:
            if is_glob(part):
                break
            prefix.append(part)
        if self._escapes(pattern, (base / Path(*prefix)).resolve() if prefix else base, loc, what):
            return []
        matches = sorted(glob.glob(pattern, root_dir=base, recursive=True))
        files: list[Path] = []
        folders = 0
        for m in matches:
            target = (base / m).resolve()
            if target.is_dir():
                folders += 1
                continue
            if self._escapes(m, target, loc, what):
                continue
            files.append(target)
        if not files:
            detail = (
                f"only folders ({folders}); add /* or /**/* to match the files in them"
                if folders
                else f"no files (relative to {self.rel(base) or '.'}/)"
            )
            self.diags.error(loc, f"{what} '{pattern}' matches {detail}")
        return files

    def read(self, path: Path, loc: Location, what: str) -> FileRef | None:
        """The file's bytes and sha256, read once per load."""
        path = path.resolve()
        if path in self._refs:
            return self._refs[path]
        if self.unreadable_name(path, what) or self.unsendable_name(path, what):
            self._refs[path] = None
            return None
        ref: FileRef | None = None
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                self.diags.error(
                    loc,
                    f"{what} '{self.rel(path)}' is {size / 2**20:.0f} MB; the Files API accepts "
                    "at most 512 MB per file",
                )
            else:
                content = path.read_bytes()
                ref = FileRef(
                    path=path,
                    rel=self.rel(path),
                    sha256=hashlib.sha256(content).hexdigest(),
                    content=content,
                )
        except OSError as e:
            self.diags.error(loc, f"cannot read {what} '{self.rel(path)}': {e.strerror or e}")
        self._refs[path] = ref
        return ref

    def refs(
        self, base: Path, patterns: list[str], loc_of: list[Location], what: str
    ) -> list[FileRef]:
        """Read every file the patterns match, without duplicates, in a stable order."""
        out: dict[Path, FileRef] = {}
        for pattern, loc in zip(patterns, loc_of, strict=True):
            for path in self.glob(base, pattern, loc, what):
                ref = self.read(path, loc, what)
                if ref is not None:
                    out.setdefault(ref.path, ref)
        return sorted(out.values(), key=lambda r: r.rel)
