"""A write-ahead journal on the server: an interrupted apply's uploads and deletions are found again.

Files keep their real names, and the Files API has no metadata: a file uploaded by an
apply that was killed (or failed) before attaching it would be indistinguishable from
anyone else's. So before its first upload or file deletion, an apply writes what it is
about to do into *journal pages*: vector stores without files (free, and never shown in
assistant lists, like the lock) whose metadata holds

- ``managed-by`` and ``orchestrator-namespace``;
- ``orchestrator-journal``: ``<lock token>:<page number>``, tying the page to the lock
  of the apply that wrote it;
- ``orchestrator-journal-0`` ... ``-12``: space-separated entries, ``+<sha12>.<size>.<name
  hash>`` for an upload (content sha256 prefix, byte size, 6 hex of sha256 of the file
  name) and ``-<file id>`` for a file deletion. About 220 entries fit in a page; more
  entries take more pages.

One page create before the writes, one delete after: two extra requests for an apply
that uploads or deletes files, none for any other. The pages are deleted only when the
apply finished without failures, so a failed apply leaves them for the next one.

A page is *recoverable* when its lock is gone or stale (its apply cannot still be
running). Then a plan looks, among the files no store or assistant references, for
uploads created after the page with a recorded size and name hash, downloads them and
compares the content hash (the only place the reconciler downloads); those, and files a
deletion entry names, are ours again: used if the YAML wants their content, deleted
otherwise. The apply that resolves them deletes the page.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.ownership import JOURNAL_KEY, is_journal, marker_metadata
from orchestrator.reconcile.api import AmbiguousWriteError
from orchestrator.reconcile.errors import ReconcileError
from orchestrator.reconcile.identity import SHA_PREFIX_LEN
from orchestrator.reconcile.target import FileStore

log = logging.getLogger("orchestrator.reconcile")

ENTRY_KEYS = 13  # 16 metadata keys, minus managed-by, namespace and the journal marker
_VALUE_MAX = 512
_UPLOAD_RE = re.compile(r"^\+(?P<sha>[0-9a-f]{12})\.(?P<size>\d{1,15})\.(?P<name>[0-9a-f]{6})$")


def name_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]


@dataclass(frozen=True)
class PendingUpload:
    """An upload an apply announced: what identifies the file it may have left behind."""

    sha12: str
    size: int
    name_hash: str

    @classmethod
    def of(cls, sha256: str, size: int, name: str) -> PendingUpload:
        return cls(sha256[:SHA_PREFIX_LEN], size, name_hash(name))

    def entry(self) -> str:
        return f"+{self.sha12}.{self.size}.{self.name_hash}"

    def may_be(self, listed: dict[str, Any]) -> bool:
        """Whether a listed file could be this upload (before its content is checked)."""
        return (
            int(listed.get("bytes") or -1) == self.size
            and name_hash(listed.get("filename") or "") == self.name_hash
        )


@dataclass
class JournalPage:
    id: str
    token: str
    created_at: int
    uploads: list[PendingUpload] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> JournalPage:
        meta = raw.get("metadata") or {}
        page = cls(
            id=raw["id"],
            token=str(meta.get(JOURNAL_KEY, "")).split(":", 1)[0],
            created_at=int(raw.get("created_at") or 0),
        )
        slots = [
            k for k in meta if k.startswith(f"{JOURNAL_KEY}-") and k.rsplit("-", 1)[1].isdigit()
        ]
        for key in sorted(slots, key=lambda k: int(k.rsplit("-", 1)[1])):
            for entry in str(meta[key]).split():
                if m := _UPLOAD_RE.match(entry):
                    page.uploads.append(PendingUpload(m["sha"], int(m["size"]), m["name"]))
                elif entry.startswith("-") and len(entry) > 1:
                    page.deletes.append(entry[1:])
        return page


def page_metadata(
    namespace: str, token: str, uploads: list[PendingUpload], deletes: list[str]
) -> list[dict[str, str]]:
    """The metadata of every page needed for these entries (none when there are none)."""
    entries = [u.entry() for u in uploads] + [f"-{fid}" for fid in deletes]
    values: list[str] = []
    for entry in entries:
        if len(entry) > _VALUE_MAX:
            raise ReconcileError(f"file id {entry[1:]!r} is too long to record")
        if values and len(values[-1]) + 1 + len(entry) <= _VALUE_MAX:
            values[-1] += " " + entry
        else:
            values.append(entry)
    pages: list[dict[str, str]] = []
    for n, start in enumerate(range(0, len(values), ENTRY_KEYS)):
        meta = {**marker_metadata(namespace), JOURNAL_KEY: f"{token}:{n}"}
        for i, value in enumerate(values[start : start + ENTRY_KEYS]):
            meta[f"{JOURNAL_KEY}-{i}"] = value
        pages.append(meta)
    return pages


class Journal:
    """The journal of one apply: written before its first upload or deletion."""

    def __init__(self, api: FileStore, namespace: str, token: str) -> None:
        self.api = api
        self.namespace = namespace
        self.token = token
        self.pages: list[JournalPage] = []

    @property
    def since(self) -> int | None:
        """The server time of the first page: every upload it records is created after it."""
        return min((p.created_at for p in self.pages), default=None)

    @property
    def uploads(self) -> list[PendingUpload]:
        return [u for p in self.pages for u in p.uploads]

    def write(self, uploads: list[PendingUpload], deletes: list[str]) -> None:
        name = f"orchestrator journal ({self.namespace})"
        for meta in page_metadata(self.namespace, self.token, uploads, deletes):
            marker = meta[JOURNAL_KEY]
            for _ in range(self.api.policy.attempts):
                try:
                    created = self.api.create_vector_store(
                        name, meta, what="write the apply's journal"
                    )
                    self.pages.append(JournalPage.from_raw(created))
                    break
                except AmbiguousWriteError:
                    mine = [
                        raw
                        for raw in self.api.list_vector_stores()
                        if is_journal(raw.get("metadata"), self.namespace)
                        and raw["metadata"].get(JOURNAL_KEY) == marker
                    ]
                    if mine:
                        self.pages.append(JournalPage.from_raw(mine[0]))
                        break
            else:
                raise ReconcileError("the server kept failing; the apply's journal was not written")

    def close(self) -> None:
        """Delete the pages (the apply finished: everything it recorded is resolved)."""
        for page in self.pages:
            try:
                self.api.delete_vector_store(page.id, what=f"delete journal page {page.id}")
            except Exception as e:  # the next plan resolves and deletes it
                log.warning("could not delete journal page %s: %s", page.id, e)
        self.pages = []
