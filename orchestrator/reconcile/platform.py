"""The reconciler's target on OpenAI as it is today (``api: openai``).

Files and vector stores go through the same calls as on the Assistants-v2 target
(:class:`~orchestrator.reconcile.api.Api`). The assistant objects of the seam
(:class:`~orchestrator.reconcile.target.AssistantObjects`) are, here:

- a **Managed Agent** (``/v1/agents``, beta) for an assistant with ``agent: true`` that an
  agent can hold (:mod:`.agents` maps it to and from the Assistants form the planner
  compares);
- a **file record** for an assistant that is not an agent but has code-interpreter files:
  the Files API keeps no metadata, so which uploaded file holds which content is recorded
  where a managed assistant would record it — on an empty vector store marked
  ``orchestrator-record`` (no files, so it costs nothing), carrying the same reserved
  metadata as an assistant plus the file ids. Records never show as vector stores.

An assistant that is neither (no agent, no code-interpreter files) has no object on the
server: its Responses profile in the lock file is all there is. Nothing here calls
``/v1/assistants`` or ``/v1/threads``, which OpenAI retired on 2026-08-26.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import openai

from orchestrator.ownership import KEY_KEY, RECORD_KEY
from orchestrator.reconcile.agents import agent_body, assistant_view
from orchestrator.reconcile.api import Api

# Metadata keys of a file record holding its code-interpreter file ids (space-separated;
# 20 files of up to ~40 characters need two values of 512).
RECORD_IDS_KEYS = ("orchestrator-record-ids", "orchestrator-record-ids-1")
RECORD_KIND = "code-interpreter-files"
_IDS_PER_VALUE = 512


def _pack_ids(file_ids: list[str]) -> dict[str, str]:
    values: list[str] = []
    for fid in file_ids:
        if values and len(values[-1]) + 1 + len(fid) <= _IDS_PER_VALUE:
            values[-1] += " " + fid
        else:
            values.append(fid)
    if len(values) > len(RECORD_IDS_KEYS):
        raise ValueError(f"{len(file_ids)} file ids do not fit a record's metadata")
    return dict(zip(RECORD_IDS_KEYS, values, strict=False))


def record_view(store: dict[str, Any]) -> dict[str, Any]:
    """A file record (a marked vector store) in the Assistants form the planner reads."""
    meta = dict(store.get("metadata") or {})
    ids = " ".join(meta.pop(k, "") for k in RECORD_IDS_KEYS).split()
    meta.pop(RECORD_KEY, None)
    return {
        "id": store["id"],
        "object": "record",
        "created_at": store.get("created_at") or 0,
        "name": None,
        "description": None,
        "model": None,
        "instructions": None,
        "tools": [],
        "tool_resources": {"code_interpreter": {"file_ids": ids}},
        "metadata": meta,
        "temperature": None,
        "top_p": None,
        "response_format": None,
        "reasoning_effort": None,
    }


def is_record(store: dict[str, Any]) -> bool:
    return RECORD_KEY in (store.get("metadata") or {})


class PlatformApi(Api):
    """:class:`Api` with Managed Agents and file records as the assistant objects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # File records seen or made -> their file ids (an update or delete must know the
        # kind; an update that leaves the files keeps their ids).
        self._records: dict[str, list[str]] = {}
        # Stores and records are one collection on the server: within one plan's reads
        # (`listing()`), it is listed once for both.
        self._shared_lock = threading.Lock()
        self._sharing = 0
        self._shared: list[dict[str, Any]] | None = None

    @contextlib.contextmanager
    def listing(self) -> Iterator[None]:
        with self._shared_lock:
            self._sharing += 1
        try:
            yield
        finally:
            with self._shared_lock:
                self._sharing -= 1
                if not self._sharing:
                    self._shared = None

    # -- vector stores: the records are not among them ------------------------------------

    def _all_vector_stores(self) -> list[dict[str, Any]]:
        if not self._sharing:
            return super().list_vector_stores()
        # The second reader waits for the first one's listing instead of listing again.
        with self._shared_lock:
            if self._shared is None:
                self._shared = super().list_vector_stores()
            return list(self._shared)

    def list_vector_stores(self) -> list[dict[str, Any]]:
        return [vs for vs in self._all_vector_stores() if not is_record(vs)]

    # -- assistants: agents and records ---------------------------------------------------

    def list_agents(self) -> list[dict[str, Any]]:
        agents = self.client.beta.agents.with_raw_response
        return list(
            self.pages(
                lambda after: agents.list(
                    limit=100, order="asc", **({"after": after} if after else {})
                ),
                what="list agents",
            )
        )

    def list_assistants(self) -> list[dict[str, Any]]:
        # Agents first: meanwhile a concurrent list_vector_stores lists the stores.
        agents = [assistant_view(a) for a in self.list_agents()]
        records = [record_view(vs) for vs in self._all_vector_stores() if is_record(vs)]
        for r in records:
            self._records[r["id"]] = r["tool_resources"]["code_interpreter"]["file_ids"]
        return agents + records

    def create_assistant(self, body: dict[str, Any], *, what: str) -> str:
        if "model" not in body:
            ids = _file_ids(body) or []
            created = self.create_vector_store(
                f"orchestrator file record {body['metadata'].get(KEY_KEY, '')}",
                _record_metadata(body["metadata"], ids),
                what=what,
            )
            self._records[created["id"]] = ids
            return created["id"]
        agents = self.client.beta.agents
        request = agent_body(body)
        made = self.call(lambda: agents.create(**request), what=what, kind="create")
        return made.id

    def update_assistant(self, assistant_id: str, body: dict[str, Any], *, what: str) -> None:
        if assistant_id in self._records:
            ids = _file_ids(body)
            if ids is None:
                ids = self._records[assistant_id]  # the files stay as they are
            meta = _record_metadata(body["metadata"], ids)
            self.update_vector_store(assistant_id, meta, what=what)
            self._records[assistant_id] = ids
            return
        agents = self.client.beta.agents
        request = agent_body(body)
        self.call(lambda: agents.update(assistant_id, **request), what=what, kind="write")

    def delete_assistant(self, assistant_id: str, *, what: str) -> bool:
        if assistant_id in self._records:
            return self.delete_vector_store(assistant_id, what=what)
        agents = self.client.beta.agents
        return self.delete(lambda: agents.delete(assistant_id), what=what)


def _file_ids(body: dict[str, Any]) -> list[str] | None:
    resources = body.get("tool_resources")
    if resources is None:
        return None
    return list((resources.get("code_interpreter") or {}).get("file_ids") or [])


def _record_metadata(metadata: dict[str, str], file_ids: list[str]) -> dict[str, str]:
    return {**metadata, RECORD_KEY: RECORD_KIND, **_pack_ids(file_ids)}


def reconcile_api(client: openai.OpenAI, api: str, *, timeout: float = 60.0) -> Api:
    """The reconciler's target for a client speaking ``api`` ("assistants" or "openai")."""
    return PlatformApi(client, timeout=timeout) if api == "openai" else Api(client, timeout=timeout)
