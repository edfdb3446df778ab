"""Actual state: what the server holds for a namespace, from list requests only.

Assistants, vector stores and files are each read with paginated lists (no per-object
GETs: a list returns the whole object), then the files of each managed vector store.
Only objects with our managed-by marker in our namespace count as ours. Files keep their
real names, so they are ours by what our objects say about them (see :mod:`identity`):
the ``orchestrator-sha256`` attribute of a managed store's file, the file entries of a
managed store or assistant, and, for an apply that was interrupted, its journal
(:mod:`journal`; only then are files downloaded, to check their content). Unmanaged
assistants are kept aside: a desired assistant with the same name is reported for
adoption instead of being duplicated.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import openai

from orchestrator.ownership import (
    FILE_SHA_ATTRIBUTE,
    KEY_KEY,
    SHA_KEY,
    is_journal,
    is_lock,
    is_managed,
    is_marked,
    sha256_json,
)
from orchestrator.reconcile.identity import (
    display_filename,
    file_tag,
    parse_legacy_filename,
    read_file_entries,
    valid_sha256,
)
from orchestrator.reconcile.journal import JournalPage
from orchestrator.reconcile.lease import live_lock_tokens
from orchestrator.reconcile.recover import recover_from_journals
from orchestrator.reconcile.target import ReconcileTarget


@dataclass
class ActualFile:
    """A file of ours, as the Files API lists it, with what we know of its content."""

    id: str
    filename: str
    bytes: int
    created_at: int
    # The full content sha256, when known (vector-store file attributes, or a download).
    sha256: str | None = None
    # Otherwise a prefix of it (a file entry: 12 hex; a legacy name: 16 hex).
    sha_prefix: str | None = None
    # Referenced by a managed vector store or a managed assistant of the namespace.
    referenced: bool = False
    # Uploaded by an earlier version under a hash-tagged name: replaced by a real-name upload.
    legacy: bool = False
    # Why it is ours: "store", "assistant", "entry" (a file entry of an object that no
    # longer references it), "journal" (an interrupted apply's), "legacy".
    origin: str = ""

    @property
    def name(self) -> str:
        return display_filename(self.filename)

    def holds(self, sha256: str, size: int) -> bool:
        """Whether this file has that content (by what is known of its hash, and its size)."""
        if self.bytes != size:
            return False
        if self.sha256:
            return self.sha256 == sha256
        return bool(self.sha_prefix) and sha256.startswith(self.sha_prefix)  # type: ignore[arg-type]


@dataclass
class ActualVectorStoreFile:
    file_id: str
    status: str
    attributes: dict[str, Any]
    chunking_strategy: dict[str, Any] | None
    last_error: dict[str, Any] | None = None

    @property
    def sha256(self) -> str | None:
        return valid_sha256(self.attributes.get(FILE_SHA_ATTRIBUTE))


class _Tagged:
    """What our reserved metadata says about a managed assistant or vector store."""

    metadata: dict[str, str]

    @property
    def key(self) -> str:
        return self.metadata.get(KEY_KEY, "")

    @property
    def sha256(self) -> str | None:
        return self.metadata.get(SHA_KEY)

    @property
    def file_entries(self) -> dict[str, str]:
        return read_file_entries(self.metadata)


@dataclass
class ActualVectorStore(_Tagged):
    id: str
    name: str | None
    metadata: dict[str, str]
    created_at: int
    status: str
    files: list[ActualVectorStoreFile] = field(default_factory=list)


@dataclass
class ActualAssistant(_Tagged):
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return self.raw["id"]

    @property
    def created_at(self) -> int:
        return int(self.raw.get("created_at") or 0)

    @property
    def name(self) -> str | None:
        return self.raw.get("name")

    @property  # type: ignore[override]
    def metadata(self) -> dict[str, str]:
        return self.raw.get("metadata") or {}

    @property
    def code_interpreter_file_ids(self) -> list[str]:
        res = self.raw.get("tool_resources") or {}
        return list((res.get("code_interpreter") or {}).get("file_ids") or [])

    @property
    def vector_store_ids(self) -> list[str]:
        res = self.raw.get("tool_resources") or {}
        return list((res.get("file_search") or {}).get("vector_store_ids") or [])


@dataclass
class ActualState:
    namespace: str
    assistants: list[ActualAssistant] = field(default_factory=list)
    # Assistants without our marker in any namespace: adoption and export candidates.
    unmanaged_assistants: list[ActualAssistant] = field(default_factory=list)
    vector_stores: list[ActualVectorStore] = field(default_factory=list)
    # Files of ours (see the module docstring).
    files: list[ActualFile] = field(default_factory=list)
    # Files a managed object references that the Files API no longer has (deleted by hand).
    missing_files: set[str] = field(default_factory=set)
    # Lock objects of the namespace (raw vector stores); never part of the plan.
    locks: list[dict[str, Any]] = field(default_factory=list)
    # Journal pages of applies that are over (interrupted or failed): to resolve and delete.
    journals: list[JournalPage] = field(default_factory=list)
    # Vector stores without our marker (id -> the server's JSON): what adopted assistants
    # may use.
    unmarked_stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Unmarked stores that adopted assistants use, with their files (see :mod:`.adoption`).
    adoptable_stores: list[ActualVectorStore] = field(default_factory=list)

    def files_by_id(self) -> dict[str, ActualFile]:
        return {f.id: f for f in self.files}

    def fingerprint(
        self, adoption_names: set[str] | None = None, adoption_ids: set[str] | None = None
    ) -> str:
        """A hash of everything a plan is computed from (volatile counters left out).

        ``adoption_names`` / ``adoption_ids``: unmanaged assistants with these names or ids
        count too, since a new one would turn a planned create into an adoption question.
        """
        names = adoption_names or set()
        ids = adoption_ids or set()
        stores = sorted((_store_print(v) for v in self.vector_stores), key=lambda d: d["id"])
        if self.adoptable_stores:
            stores += sorted(
                ({**_store_print(v), "adoptable": True} for v in self.adoptable_stores),
                key=lambda d: d["id"],
            )
        return sha256_json(
            {
                "assistants": sorted((a.raw for a in self.assistants), key=lambda r: r["id"]),
                "unmanaged": sorted(
                    (a.raw for a in self.unmanaged_assistants if a.name in names or a.id in ids),
                    key=lambda r: r["id"],
                ),
                "vector_stores": stores,
                "files": sorted(
                    (
                        {
                            "id": f.id,
                            "filename": f.filename,
                            "bytes": f.bytes,
                            "sha256": f.sha256,
                            "sha_prefix": f.sha_prefix,
                            "referenced": f.referenced,
                            "origin": f.origin,
                        }
                        for f in self.files
                    ),
                    key=lambda d: d["id"],
                ),
                "missing_files": sorted(self.missing_files),
                "journals": sorted(p.id for p in self.journals),
            }
        )


def _store_print(v: ActualVectorStore) -> dict[str, Any]:
    return {
        "id": v.id,
        "name": v.name,
        "metadata": v.metadata,
        "status": _coarse(v.status),
        "files": sorted(
            (
                {
                    "file_id": f.file_id,
                    "status": _coarse(f.status),
                    "attributes": f.attributes,
                    "chunking_strategy": f.chunking_strategy,
                }
                for f in v.files
            ),
            key=lambda d: d["file_id"],
        ),
    }


def _coarse(status: str) -> str:
    # Indexing finishing between plan and apply does not make a plan stale; failing does.
    return "ok" if status in ("in_progress", "completed") else status


def vs_file(raw: dict[str, Any]) -> ActualVectorStoreFile:
    return ActualVectorStoreFile(
        file_id=raw["id"],
        status=raw.get("status") or "completed",
        attributes=raw.get("attributes") or {},
        chunking_strategy=raw.get("chunking_strategy"),
        last_error=raw.get("last_error"),
    )


@dataclass
class Listings:
    """What the list requests returned, as the server's JSON."""

    assistants: list[dict[str, Any]]
    vector_stores: list[dict[str, Any]]
    files: list[dict[str, Any]]
    # Managed vector store id -> its files (a store deleted while listing is absent).
    store_files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def fetch_actual(api: ReconcileTarget, namespace: str, *, parallelism: int = 8) -> ActualState:
    """List the server and keep what concerns ``namespace``."""
    with api.listing(), ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        f_asst = pool.submit(api.list_assistants)
        f_vs = pool.submit(api.list_vector_stores)
        f_files = pool.submit(api.list_files)
        listings = Listings(f_asst.result(), f_vs.result(), f_files.result())
        managed = [
            raw["id"]
            for raw in listings.vector_stores
            if is_managed(raw.get("metadata"), namespace)
        ]
        pending = {vs_id: pool.submit(api.list_vector_store_files, vs_id) for vs_id in managed}
        for vs_id, future in pending.items():
            with contextlib.suppress(openai.NotFoundError):  # deleted while we were listing
                listings.store_files[vs_id] = future.result()
    state = actual_from_listings(namespace, listings)
    if state.journals:
        listed = {raw["id"]: raw for raw in listings.files}
        ours = {f.id for f in state.files}
        recovered = recover_from_journals(
            api,
            state.journals,
            listed,
            _referenced(state, listings),
            _other_stores(namespace, listings),
            ours,
            parallelism=parallelism,
        )
        state.files.extend(
            ActualFile(
                id=r.raw["id"],
                filename=r.raw.get("filename") or "",
                bytes=int(r.raw.get("bytes") or 0),
                created_at=int(r.raw.get("created_at") or 0),
                sha256=r.sha256,
                origin="journal",
            )
            for r in recovered
        )
        state.files.sort(key=lambda f: (f.created_at, f.id))
    return state


def _referenced(state: ActualState, listings: Listings) -> set[str]:
    """Files that any assistant (of any owner) or a managed store of ours references."""
    out = {
        fid for raw in listings.assistants for fid in ActualAssistant(raw).code_interpreter_file_ids
    }
    out.update(f.file_id for vs in state.vector_stores for f in vs.files)
    return out


def _other_stores(namespace: str, listings: Listings) -> list[str]:
    """Vector stores that are not ours (neither managed, nor a lock, nor a journal page)."""
    return [
        raw["id"]
        for raw in listings.vector_stores
        if not any(
            check(raw.get("metadata"), namespace) for check in (is_managed, is_lock, is_journal)
        )
    ]


def actual_from_listings(namespace: str, listings: Listings) -> ActualState:
    """The actual state of ``namespace`` in these listings (pure: no requests).

    Journal pages of applies that are over are in ``journals``; what they account for is
    found by :func:`fetch_actual` (it takes downloads).
    """
    state = ActualState(namespace=namespace)
    pages: list[JournalPage] = []
    for raw in listings.assistants:
        meta = raw.get("metadata") or {}
        if is_managed(meta, namespace):
            state.assistants.append(ActualAssistant(raw))
        elif not is_marked(meta):
            state.unmanaged_assistants.append(ActualAssistant(raw))
    for raw in listings.vector_stores:
        meta = raw.get("metadata") or {}
        if not is_marked(meta):
            state.unmarked_stores[raw["id"]] = raw
        if is_lock(meta, namespace):
            state.locks.append(raw)
        elif is_journal(meta, namespace):
            pages.append(JournalPage.from_raw(raw))
        elif is_managed(meta, namespace) and raw["id"] in listings.store_files:
            state.vector_stores.append(
                ActualVectorStore(
                    id=raw["id"],
                    name=raw.get("name"),
                    metadata=meta,
                    created_at=int(raw.get("created_at") or 0),
                    status=raw.get("status") or "completed",
                    files=[vs_file(f) for f in listings.store_files[raw["id"]]],
                )
            )
    listed = {raw["id"]: raw for raw in listings.files}
    _index_files(state, listed, _referenced(state, listings))
    # A journal page whose lock is gone or stale belongs to an apply that is over.
    live = live_lock_tokens(state.locks)
    state.journals = sorted(
        (p for p in pages if p.token not in live), key=lambda p: (p.created_at, p.id)
    )
    return state


def _index_files(
    state: ActualState, listed: dict[str, dict[str, Any]], referenced: set[str]
) -> None:
    """Which listed files are ours, and what is known of their content, from our objects."""
    files: dict[str, ActualFile] = {}

    def ours(file_id: str, origin: str, is_referenced: bool) -> ActualFile | None:
        raw = listed.get(file_id)
        if raw is None:
            if is_referenced:
                state.missing_files.add(file_id)
            return None
        f = files.get(file_id)
        if f is None:
            f = files[file_id] = ActualFile(
                id=file_id,
                filename=raw.get("filename") or "",
                bytes=int(raw.get("bytes") or 0),
                created_at=int(raw.get("created_at") or 0),
                origin=origin,
            )
        f.referenced = f.referenced or is_referenced
        return f

    def learn(f: ActualFile | None, sha256: str | None, prefix: str | None) -> None:
        if f is None:
            return
        if sha256 and not f.sha256:
            f.sha256, f.sha_prefix = sha256, None
        elif prefix and not f.sha256 and not f.sha_prefix:
            f.sha_prefix = prefix

    # Entries of files their object no longer references (detached by hand).
    unmatched: dict[str, str] = {}
    for vs in state.vector_stores:
        entries = vs.file_entries
        for vf in vs.files:
            sha = vf.sha256
            prefix = entries.get(file_tag(vf.file_id))
            if sha is None and prefix is None:
                continue  # attached by hand: not ours
            learn(ours(vf.file_id, "store", True), sha, prefix)
        attached = {file_tag(vf.file_id) for vf in vs.files}
        unmatched.update({t: p for t, p in entries.items() if t not in attached})
    for asst in state.assistants:
        entries = asst.file_entries
        ids = asst.code_interpreter_file_ids
        for fid in ids:
            prefix = entries.get(file_tag(fid))
            if prefix is not None:
                learn(ours(fid, "assistant", True), None, prefix)
        present = {file_tag(fid) for fid in ids}
        unmatched.update({t: p for t, p in entries.items() if t not in present})
    if unmatched:
        by_tag: dict[str, list[str]] = defaultdict(list)
        for fid in listed:
            by_tag[file_tag(fid)].append(fid)
        for tag, prefix in sorted(unmatched.items()):
            found = by_tag.get(tag) or []
            # Someone else using it now (their own store or assistant): leave it to them.
            if len(found) == 1 and found[0] not in referenced:
                learn(ours(found[0], "entry", False), None, prefix)
    for fid, raw in listed.items():
        parsed = parse_legacy_filename(raw.get("filename") or "", state.namespace)
        if parsed is not None:
            f = ours(fid, "legacy", False)
            if f is not None:
                f.legacy = True
                learn(f, None, parsed[0])
    state.files = sorted(files.values(), key=lambda f: (f.created_at, f.id))
