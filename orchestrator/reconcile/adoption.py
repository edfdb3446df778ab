"""Adoption: which unmanaged assistant a desired one takes over, and what it brings along.

A desired assistant that no managed object carries yet may take over an unmanaged one
(``plan/apply --adopt``): the one its YAML names (``adopt: {id: ...}``, written by
``orchestrator export``), else the one with the same name, when there is exactly one
not claimed by another YAML. :func:`adoption_matches` decides that (pure; the planner
and :func:`discover` both use it).

With ``--adopt``, :func:`discover` also looks at what those assistants use, so that
nothing is uploaded again: their code-interpreter files and the files of their
unmarked vector stores are downloaded and hashed, and those holding content the YAML
wants join the actual state as files of ours (``origin="adopt"``); the unmarked stores
become ``adoptable_stores``. The planner reuses them instead of uploading, and apply
writes our ownership metadata on them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import openai

from orchestrator.reconcile.actual import (
    ActualAssistant,
    ActualFile,
    ActualState,
    ActualVectorStore,
    vs_file,
)
from orchestrator.reconcile.desired import DesiredState
from orchestrator.reconcile.target import ReconcileTarget


@dataclass(frozen=True)
class AdoptionMatch:
    """What a desired assistant without a managed object resolves to."""

    # The unmanaged assistant to take over (None: nothing to adopt, or a conflict).
    target: ActualAssistant | None = None
    # How it was found: "id" (the YAML's adopt.id) or "name".
    by: str = ""
    # Why it cannot be decided (several candidates), for a blocked change.
    conflict: str | None = None
    # The YAML names an id the server does not have as an unmanaged assistant.
    id_not_found: bool = False


def adoption_matches(desired: DesiredState, actual: ActualState) -> dict[str, AdoptionMatch]:
    """Desired assistant key -> its match, for keys that no managed assistant carries."""
    managed_keys = {a.key for a in actual.assistants}
    unmanaged = {a.id: a for a in actual.unmanaged_assistants}
    pending = [da for k, da in sorted(desired.assistants.items()) if k not in managed_keys]
    out: dict[str, AdoptionMatch] = {}
    claimed: dict[str, str] = {}  # unmanaged id -> the key whose YAML names it
    for da in pending:
        if da.adopt_id and da.adopt_id in unmanaged:
            if da.adopt_id in claimed:
                out[da.key] = AdoptionMatch(
                    conflict=f"its adopt.id {da.adopt_id} is also the adopt.id of assistant "
                    f"{claimed[da.adopt_id]!r}; one assistant can be adopted once: fix one of "
                    "the two YAML files"
                )
                continue
            claimed[da.adopt_id] = da.key
            out[da.key] = AdoptionMatch(target=unmanaged[da.adopt_id], by="id")
    by_name: dict[str, list[ActualAssistant]] = defaultdict(list)
    for a in actual.unmanaged_assistants:
        if a.name and a.id not in claimed:
            by_name[a.name].append(a)
    for da in pending:
        if da.key in out:
            continue
        missing = bool(da.adopt_id)
        name = da.fields.get("name")
        same = sorted(by_name.get(name or "", []), key=lambda a: (a.created_at, a.id))
        if len(same) == 1:
            out[da.key] = AdoptionMatch(target=same[0], by="name", id_not_found=missing)
        elif same:
            ids = ", ".join(a.id for a in same)
            out[da.key] = AdoptionMatch(
                conflict=f"{len(same)} unmanaged assistants are named {name!r} ({ids}); "
                "name the one to take over with `adopt: {id: ...}` in its YAML "
                "(`orchestrator export` writes it), or delete or rename the others",
                id_not_found=missing,
            )
        elif missing:
            out[da.key] = AdoptionMatch(id_not_found=True)
    return out


def adoption_ids(matches: dict[str, AdoptionMatch]) -> list[str]:
    """The unmanaged assistants the matches take over (for the plan's fingerprint)."""
    return sorted({m.target.id for m in matches.values() if m.target is not None})


def discover(
    api: ReconcileTarget,
    actual: ActualState,
    assistant_ids: Iterable[str],
    desired_shas: Iterable[str],
    *,
    parallelism: int = 8,
) -> None:
    """Add to ``actual`` what the unmanaged assistants ``assistant_ids`` use and the YAML
    wants: their unmarked vector stores (``adoptable_stores``) and the files holding
    desired content (``files``, ``origin="adopt"``, with the sha256 of their content)."""
    wanted = set(desired_shas)
    ids = set(assistant_ids)
    if not ids:
        return
    targets = [a for a in actual.unmanaged_assistants if a.id in ids]
    known = {v.id for v in actual.adoptable_stores}
    store_ids = sorted(
        {
            vid
            for a in targets
            for vid in a.vector_store_ids
            if vid in actual.unmarked_stores and vid not in known
        }
    )

    def store_files(vid: str) -> list[dict[str, Any]] | None:
        try:
            return api.list_vector_store_files(vid)
        except openai.NotFoundError:  # deleted while we were looking
            return None

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        listed = dict(zip(store_ids, pool.map(store_files, store_ids), strict=True))
        for vid in store_ids:
            files = listed[vid]
            if files is None:
                continue
            raw = actual.unmarked_stores[vid]
            actual.adoptable_stores.append(
                ActualVectorStore(
                    id=vid,
                    name=raw.get("name"),
                    metadata=raw.get("metadata") or {},
                    created_at=int(raw.get("created_at") or 0),
                    status=raw.get("status") or "completed",
                    files=[vs_file(f) for f in files],
                )
            )
        ours = {f.id for f in actual.files}
        candidates = sorted(
            {fid for a in targets for fid in a.code_interpreter_file_ids}
            | {f.file_id for v in actual.adoptable_stores for f in v.files}
        )
        by_id = {f["id"]: f for f in api.list_files()} if candidates else {}
        todo = [fid for fid in candidates if fid in by_id and fid not in ours]
        shas = dict(zip(todo, pool.map(api.content_sha256, todo), strict=True))
    for fid in todo:
        sha = shas[fid]
        if sha is None or sha not in wanted:
            continue
        raw = by_id[fid]
        actual.files.append(
            ActualFile(
                id=fid,
                filename=raw.get("filename") or "",
                bytes=int(raw.get("bytes") or 0),
                created_at=int(raw.get("created_at") or 0),
                sha256=sha,
                referenced=True,
                origin="adopt",
            )
        )
    actual.files.sort(key=lambda f: (f.created_at, f.id))
