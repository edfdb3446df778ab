"""The reconciler's target seam: what plan, apply, export and destroy ask of a server.

Two parts, so that another API can stand in for one of them without touching the
planner's core:

- :class:`FileStore` — files and vector stores (the Files and Vector Stores APIs, alike
  on the Assistants-v2 target and on today's OpenAI platform); locks and journal pages
  are vector stores too;
- :class:`AssistantObjects` — the objects an assistant definition becomes: Assistants-v2
  assistants today (``/v1/assistants``); an OpenAI-platform target would implement it
  with Managed Agents (``/v1/agents``).

Objects cross the seam as the server's JSON (``dict``), ids as ``str``. Creates raise
:class:`~orchestrator.reconcile.api.AmbiguousWriteError` when the server may have
created the object anyway (the caller lists to find it); deletes return False when the
object was gone already. :class:`~orchestrator.reconcile.api.Api` implements both parts
for the Assistants API v2.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from orchestrator.reconcile.api import RetryPolicy

Raw = dict[str, Any]


@runtime_checkable
class FileStore(Protocol):
    policy: RetryPolicy

    # -- files
    def list_files(self) -> list[Raw]: ...
    def content_sha256(self, file_id: str) -> str | None: ...
    def file_content(self, file_id: str, *, what: str) -> bytes: ...
    def upload_file(self, filename: str, content: bytes, *, what: str) -> str: ...
    def delete_file(self, file_id: str, *, what: str) -> bool: ...

    # -- vector stores
    def list_vector_stores(self) -> list[Raw]: ...
    # One plan's reads: lists inside may share one listing of a collection.
    def listing(self) -> AbstractContextManager[None]: ...
    def create_vector_store(self, name: str, metadata: dict[str, str], *, what: str) -> Raw: ...
    def update_vector_store(
        self, vector_store_id: str, metadata: dict[str, str], *, name: str | None = None, what: str
    ) -> None: ...
    def delete_vector_store(self, vector_store_id: str, *, what: str) -> bool: ...

    # -- a vector store's files
    def list_vector_store_files(self, vector_store_id: str) -> list[Raw]: ...
    def attach_files(self, vector_store_id: str, files: list[Raw], *, what: str) -> str: ...
    def file_batch_counts(
        self, vector_store_id: str, batch_id: str, *, what: str
    ) -> dict[str, int]: ...
    def set_file_attributes(
        self, vector_store_id: str, file_id: str, attributes: dict[str, str], *, what: str
    ) -> None: ...
    def detach_file(self, vector_store_id: str, file_id: str, *, what: str) -> bool: ...


@runtime_checkable
class AssistantObjects(Protocol):
    def list_assistants(self) -> list[Raw]: ...
    def create_assistant(self, body: Raw, *, what: str) -> str: ...
    def update_assistant(self, assistant_id: str, body: Raw, *, what: str) -> None: ...
    def delete_assistant(self, assistant_id: str, *, what: str) -> bool: ...


@runtime_checkable
class ReconcileTarget(FileStore, AssistantObjects, Protocol):
    """Everything the reconciler asks of a target."""
