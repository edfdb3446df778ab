"""What an interrupted apply left behind, found from its journal (see :mod:`journal`).

Run by :func:`actual.fetch_actual` only when a journal page of an apply that is over
exists (this module knows nothing of the actual-state types: it returns what it found). A file counts as that apply's when nothing uses it (no assistant, no vector
store) and either a deletion entry names it, or it was created after the page, its size
and name hash match an upload entry, and its content (downloaded here, the one place the
reconciler downloads) has the recorded hash. Such files join the actual state as ours:
the plan uses them when the YAML wants their content and deletes them otherwise.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import openai

from orchestrator.reconcile.journal import JournalPage, PendingUpload
from orchestrator.reconcile.target import FileStore


@dataclass
class RecoveredFile:
    """A listed file an interrupted apply left behind (sha256: when its content was checked)."""

    raw: dict[str, Any]
    sha256: str | None


def recover_from_journals(
    api: FileStore,
    journals: list[JournalPage],
    listed: dict[str, dict[str, Any]],
    referenced: set[str],
    other_stores: list[str],
    ours: set[str],
    *,
    parallelism: int = 8,
) -> list[RecoveredFile]:
    """The files the ``journals`` account for, among the ``listed`` files that are not
    ``ours`` already, nor ``referenced`` by anyone, nor attached to ``other_stores``."""
    ours = set(ours)
    found: list[RecoveredFile] = []

    def adopt(raw: dict[str, Any], sha256: str | None) -> None:
        found.append(RecoveredFile(raw, sha256))
        ours.add(raw["id"])

    # Candidates, before anything is downloaded: unused files that may be a recorded upload.
    candidates: dict[str, list[PendingUpload]] = {}
    for page in journals:
        for raw in listed.values():
            fid = raw["id"]
            if (
                fid in ours
                or fid in referenced
                or int(raw.get("created_at") or 0) < page.created_at
            ):
                continue
            hits = [u for u in page.uploads if u.may_be(raw)]
            if hits:
                candidates.setdefault(fid, []).extend(hits)
    deletions = [
        fid
        for page in journals
        for fid in page.deletes
        if fid in listed and fid not in ours and fid not in referenced
    ]
    if not candidates and not deletions:
        return found
    # Not attached to anyone else's vector store either (checked only now: it takes a
    # list request per store).
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        elsewhere: set[str] = set()
        for listing in pool.map(_store_files(api), other_stores):
            elsewhere.update(listing)
        for fid in dict.fromkeys(deletions):
            if fid not in elsewhere and fid not in ours:
                adopt(listed[fid], None)
        wanted = [fid for fid in sorted(candidates) if fid not in elsewhere and fid not in ours]
        for fid, sha in zip(wanted, pool.map(api.content_sha256, wanted), strict=True):
            if sha is not None and any(sha.startswith(u.sha12) for u in candidates[fid]):
                adopt(listed[fid], sha)
    return found


def _store_files(api: FileStore) -> Any:
    def get(vs_id: str) -> list[str]:
        try:
            return [f["id"] for f in api.list_vector_store_files(vs_id)]
        except openai.NotFoundError:
            return []

    return get
