"""Actual state: what the server holds for a namespace, from list requests only.

Assistants, vector stores and files are each read with paginated lists (no per-object
GETs: a list returns the whole object), then the files of each managed vector store.
Only objects with our managed-by marker in our namespace count as ours; files are ours
by their name (see :mod:`identity`). Unmanaged assistants are kept aside: a desired
assistant with the same name is reported for adoption instead of being duplicated.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import openai

from orchestrator.reconcile.api import Api
from orchestrator.reconcile.desired import sha256_json
from orchestrator.reconcile.identity import (
    FILE_SHA_ATTRIBUTE,
    is_lock,
    is_managed,
    is_marked,
    parse_upload_filename,
)
from orchestrator.spec.models import KEY_KEY, SHA_KEY


@dataclass
class ActualFile:
    id: str
    filename: str
    bytes: int
    created_at: int
    sha16: str  # the content hash prefix from the file name
    name: str  # the original file name


@dataclass
class ActualVectorStoreFile:
    file_id: str
    status: str
    attributes: dict[str, Any]
    chunking_strategy: dict[str, Any] | None
    last_error: dict[str, Any] | None = None

    @property
    def sha256(self) -> str | None:
        value = self.attributes.get(FILE_SHA_ATTRIBUTE)
        return value if isinstance(value, str) else None


@dataclass
class ActualVectorStore:
    id: str
    name: str | None
    metadata: dict[str, str]
    created_at: int
    status: str
    files: list[ActualVectorStoreFile] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.metadata.get(KEY_KEY, "")

    @property
    def sha256(self) -> str | None:
        return self.metadata.get(SHA_KEY)


@dataclass
class ActualAssistant:
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

    @property
    def metadata(self) -> dict[str, str]:
        return self.raw.get("metadata") or {}

    @property
    def key(self) -> str:
        return self.metadata.get(KEY_KEY, "")

    @property
    def sha256(self) -> str | None:
        return self.metadata.get(SHA_KEY)

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
    files: list[ActualFile] = field(default_factory=list)
    # Lock objects of the namespace (raw vector stores); never part of the plan.
    locks: list[dict[str, Any]] = field(default_factory=list)

    def files_by_id(self) -> dict[str, ActualFile]:
        return {f.id: f for f in self.files}

    def fingerprint(self, adoption_names: set[str] | None = None) -> str:
        """A hash of everything a plan is computed from (volatile counters left out).

        ``adoption_names``: unmanaged assistants with these names count too, since a new
        one would turn a planned create into an adoption question.
        """
        names = adoption_names or set()
        return sha256_json(
            {
                "assistants": sorted((a.raw for a in self.assistants), key=lambda r: r["id"]),
                "unmanaged": sorted(
                    (a.raw for a in self.unmanaged_assistants if a.name in names),
                    key=lambda r: r["id"],
                ),
                "vector_stores": sorted(
                    (
                        {
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
                        for v in self.vector_stores
                    ),
                    key=lambda d: d["id"],
                ),
                "files": sorted(
                    ({"id": f.id, "filename": f.filename, "bytes": f.bytes} for f in self.files),
                    key=lambda d: d["id"],
                ),
            }
        )


def _coarse(status: str) -> str:
    # Indexing finishing between plan and apply does not make a plan stale; failing does.
    return "ok" if status in ("in_progress", "completed") else status


def _vs_file(raw: dict[str, Any]) -> ActualVectorStoreFile:
    return ActualVectorStoreFile(
        file_id=raw["id"],
        status=raw.get("status") or "completed",
        attributes=raw.get("attributes") or {},
        chunking_strategy=raw.get("chunking_strategy"),
        last_error=raw.get("last_error"),
    )


def fetch_actual(api: Api, namespace: str, *, parallelism: int = 8) -> ActualState:
    """List the server and keep what concerns ``namespace``."""
    state = ActualState(namespace=namespace)
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        f_asst = pool.submit(api.list_assistants)
        f_vs = pool.submit(api.list_vector_stores)
        f_files = pool.submit(api.list_files)
        for raw in f_asst.result():
            meta = raw.get("metadata") or {}
            if is_managed(meta, namespace):
                state.assistants.append(ActualAssistant(raw))
            elif not is_marked(meta):
                state.unmanaged_assistants.append(ActualAssistant(raw))
        for raw in f_vs.result():
            meta = raw.get("metadata") or {}
            if is_lock(meta, namespace):
                state.locks.append(raw)
            elif is_managed(meta, namespace):
                state.vector_stores.append(
                    ActualVectorStore(
                        id=raw["id"],
                        name=raw.get("name"),
                        metadata=meta,
                        created_at=int(raw.get("created_at") or 0),
                        status=raw.get("status") or "completed",
                    )
                )
        for raw in f_files.result():
            parsed = parse_upload_filename(raw.get("filename") or "", namespace)
            if parsed is None:
                continue
            state.files.append(
                ActualFile(
                    id=raw["id"],
                    filename=raw["filename"],
                    bytes=int(raw.get("bytes") or 0),
                    created_at=int(raw.get("created_at") or 0),
                    sha16=parsed[0],
                    name=parsed[1],
                )
            )
        listings = {
            vs.id: pool.submit(api.list_vector_store_files, vs.id) for vs in state.vector_stores
        }
        gone = set()
        for vs in state.vector_stores:
            try:
                vs.files = [_vs_file(raw) for raw in listings[vs.id].result()]
            except openai.NotFoundError:
                gone.add(vs.id)  # deleted while we were listing
        state.vector_stores = [v for v in state.vector_stores if v.id not in gone]
    return state
