"""Stored files: the ``file`` objects of the Files API and their bytes.

Uploads (``POST /v1/files``) and files the server makes itself (code-interpreter
outputs, purpose ``assistants_output``) both come through :func:`store_file`. The
object lives in the store as kind ``"file"``; its bytes are a blob keyed by the file
id. A file past its ``expires_at`` is deleted the next time anything looks at it,
as OpenAI deletes expired files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from orchestrator.server.errors import invalid, not_found
from orchestrator.server.ids import new_id, now
from orchestrator.server.store import ListParams
from orchestrator.server.tools.file_search import detach_file_everywhere

if TYPE_CHECKING:
    from orchestrator.server.store import Store

# Purposes a client may upload with (CreateFileRequest); the server adds
# "assistants_output" for files it creates.
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


def store_file(
    store: Store,
    filename: str,
    data: bytes | BinaryIO,
    purpose: str,
    *,
    expires_at: int | None = None,
) -> dict[str, Any]:
    """Store a file's bytes (or copy them from a file object) and its ``file`` object.

    Blocking I/O: async routes call it in a worker thread.
    """
    file_id = new_id("file")
    # Bytes first: a crash in between leaves an orphan blob, never a file without bytes.
    size = store.write_blob(file_id, data)
    obj: dict[str, Any] = {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": now(),
        "filename": filename,
        "purpose": purpose,
        # OpenAI reports every stored file as "processed" (the field is deprecated).
        "status": "processed",
    }
    if expires_at is not None:
        # The spec types expires_at as an integer, so it is left out rather than null.
        obj["expires_at"] = expires_at
    try:
        store.insert("file", obj)
    except BaseException:
        store.delete_blob(file_id)
        raise
    return obj


def _expired(obj: dict[str, Any]) -> bool:
    expires_at = obj.get("expires_at")
    return expires_at is not None and expires_at <= now()


def get_file(store: Store, file_id: str) -> dict[str, Any] | None:
    """The file object, or None if there is none (or it has expired and is now deleted)."""
    obj = store.get("file", file_id)
    if obj is not None and _expired(obj):
        delete_file(store, file_id)
        return None
    return obj


def require_file(store: Store, file_id: str) -> dict[str, Any]:
    obj = get_file(store, file_id)
    if obj is None:
        raise not_found("file", file_id)
    return obj


def read_file_bytes(store: Store, file_id: str) -> bytes:
    """The file's content; a 404 API error if the file is unknown."""
    require_file(store, file_id)
    data = store.read_blob(file_id)
    if data is None:
        raise not_found("file", file_id)
    return data


def delete_file(store: Store, file_id: str) -> bool:
    """Delete a file and detach it from every vector store (as OpenAI does).

    The bytes go first: on a full disk the database needs the space they free to record
    the deletion (if it still fails, the file reads as gone and a retried delete finishes).
    """
    store.delete_blob(file_id)
    detach_file_everywhere(store, file_id)
    return store.delete("file", file_id)


def purge_expired_files(store: Store) -> int:
    """Delete every file past its expiry; returns how many."""
    gone = 0
    for obj in store.all("file"):
        if _expired(obj):
            delete_file(store, obj["id"])
            gone += 1
    return gone


def list_files_page(
    store: Store, *, purpose: str | None, limit: int, order: str, after: str | None
) -> dict[str, Any]:
    """GET /files: a page of up to 10,000 files (the Files API's own limit), live ones only."""
    if not 1 <= limit <= 10000:
        raise invalid("Invalid 'limit': integer must be between 1 and 10000.", param="limit")
    params = ListParams(order=order, after=after)  # type: ignore[arg-type]
    params.limit = limit  # ListParams caps at 100, the other lists' limit
    where = {"purpose": purpose} if purpose is not None else None
    page = store.list("file", params, where=where)
    # Expired files are deleted as they are met (and by the indexer's periodic sweep).
    page.data = [f for f in page.data if get_file(store, f["id"]) is not None]
    return page.body()
