"""Vector stores, vector store files and file batches: the service behind the routes.

A vector store is a document in the store (kind ``"vector_store"``) holding what the
client set; ``file_counts``, ``usage_bytes`` and ``status`` are computed from its files
whenever it is read, so they can never drift. Attaching a file records a row in
``vs_files`` with status ``in_progress`` and hands it to the server's indexing worker
(``ServerContext.indexer``, :mod:`orchestrator.server.indexing`), which moves it to
``completed`` or ``failed``.

Expiry follows OpenAI: with ``expires_after = {"anchor": "last_active_at", "days": n}``
a store expires ``n`` days after it was last active (created, searched, given files)
and then reads ``status: "expired"``; expired stores are skipped by file search and
refuse new files and searches. ``usage_bytes`` counts the UTF-8 bytes of the text
extracted from each completed file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from orchestrator.server.errors import invalid, not_found
from orchestrator.server.ids import new_id, now
from orchestrator.server.services.files import get_file
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.store import ListParams, Page, Store
from orchestrator.server.tools import file_search, index_tables
from orchestrator.server.tools.attribute_filters import check_filter
from orchestrator.server.tools.chunking import ChunkingStrategy

if TYPE_CHECKING:
    from orchestrator.server.context import ServerContext

DAY = 86400
STATUSES = ("in_progress", "completed", "failed", "cancelled")


def _zero_counts() -> dict[str, int]:
    return {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}


def _counts(conn: sqlite3.Connection, column: str, value: str) -> tuple[dict[str, int], int]:
    counts = _zero_counts()
    usage = 0
    # `column` is one of two literals from this module, never from a request.
    for status, n, size in conn.execute(
        f"SELECT status, count(*), sum(usage_bytes) FROM vs_files WHERE {column} = ? "
        "GROUP BY status",
        (value,),
    ):
        counts[status] = n
        counts["total"] += n
        usage += size or 0
    return counts, usage


# -- vector stores -------------------------------------------------------------------------


def is_expired(obj: dict[str, Any]) -> bool:
    expires_at = obj.get("expires_at")
    return expires_at is not None and now() >= expires_at


def view_vector_store(store: Store, obj: dict[str, Any]) -> dict[str, Any]:
    """The wire object of a stored vector store, with live counts and status."""
    index_tables.ensure(store)
    with store.reading() as conn:
        counts, usage = _counts(conn, "vector_store_id", obj["id"])
    if is_expired(obj):
        status = "expired"
    elif counts["in_progress"]:
        status = "in_progress"
    else:
        status = "completed"
    out = {
        "id": obj["id"],
        "object": "vector_store",
        "created_at": obj["created_at"],
        "name": obj.get("name") or "",
        "usage_bytes": usage,
        "file_counts": counts,
        "status": status,
        "last_active_at": obj["last_active_at"],
        "metadata": obj.get("metadata") or {},
        "expires_at": obj.get("expires_at"),
    }
    if obj.get("expires_after"):
        out["expires_after"] = obj["expires_after"]
    return out


def require_vector_store(store: Store, vector_store_id: str) -> dict[str, Any]:
    return store.require("vector_store", vector_store_id)


def _require_active(store: Store, vector_store_id: str, action: str) -> dict[str, Any]:
    obj = require_vector_store(store, vector_store_id)
    if is_expired(obj):
        raise invalid(
            f"Vector store '{vector_store_id}' has expired, so it cannot {action}. "
            "Create a new vector store (expired stores can only be read and deleted)."
        )
    return obj


def _expiry(expires_after: dict[str, Any] | None, last_active_at: int) -> int | None:
    return last_active_at + expires_after["days"] * DAY if expires_after else None


def create_vector_store(c: ServerContext, body: dict[str, Any]) -> dict[str, Any]:
    """Create a vector store (and attach ``file_ids``) from a CreateVectorStoreRequest body
    (also the ``tool_resources.file_search.vector_stores`` helper and message attachments).

    Every referenced file is checked before anything is written, so a bad id leaves no
    half-made store behind.
    """
    store = c.store
    index_tables.ensure(store)
    metadata = check_metadata(body.get("metadata"))
    file_ids = _check_file_ids(store, body.get("file_ids") or [], "file_ids")
    strategy = ChunkingStrategy.from_request(body.get("chunking_strategy"))
    ts = now()
    expires_after = body.get("expires_after")
    obj: dict[str, Any] = {
        "id": new_id("vector_store"),
        "object": "vector_store",
        "created_at": ts,
        "name": body.get("name") or "",
        "last_active_at": ts,
        "metadata": metadata,
        "expires_after": expires_after,
        "expires_at": _expiry(expires_after, ts),
    }
    store.insert("vector_store", obj)
    for file_id in file_ids:
        _attach(c, obj["id"], file_id, attributes=None, strategy=strategy)
    return view_vector_store(store, obj)


def modify_vector_store(store: Store, vector_store_id: str, body: dict[str, Any]) -> dict[str, Any]:
    obj = require_vector_store(store, vector_store_id)
    metadata = check_metadata(body.get("metadata"))
    if "expires_after" in body and is_expired(obj):
        raise invalid(
            f"Vector store '{vector_store_id}' has expired; its expiry cannot be changed. "
            "Create a new vector store.",
            param="expires_after",
        )

    def change(o: dict[str, Any]) -> None:
        if "name" in body:
            o["name"] = body["name"] or ""
        if "metadata" in body:
            o["metadata"] = metadata
        if "expires_after" in body:
            o["expires_after"] = body["expires_after"]
            o["expires_at"] = _expiry(body["expires_after"], o["last_active_at"])

    return view_vector_store(store, store.mutate("vector_store", vector_store_id, change))


def delete_vector_store(store: Store, vector_store_id: str) -> None:
    """Delete the store, its file attachments, chunks and batches (the files remain)."""
    require_vector_store(store, vector_store_id)
    index_tables.ensure(store)
    with store.transaction() as conn:
        file_search.remove_chunks(conn, vector_store_id=vector_store_id)
        conn.execute("DELETE FROM vs_files WHERE vector_store_id = ?", (vector_store_id,))
    store.delete_children(vector_store_id)  # file batches
    store.delete("vector_store", vector_store_id)


def list_vector_stores(store: Store, params: ListParams) -> dict[str, Any]:
    page = store.list("vector_store", params)
    page.data = [view_vector_store(store, o) for o in page.data]
    return page.body()


def touch(store: Store, vector_store_id: str) -> None:
    """Mark the store as used now (moves ``last_active_at`` and a relative expiry)."""
    ts = now()

    def change(o: dict[str, Any]) -> None:
        o["last_active_at"] = ts
        o["expires_at"] = _expiry(o.get("expires_after"), ts)

    obj = store.get("vector_store", vector_store_id)
    if obj is not None and obj["last_active_at"] != ts and not is_expired(obj):
        store.mutate("vector_store", vector_store_id, change)


def usable_vector_stores(store: Store, vector_store_ids: list[str]) -> list[str]:
    """The ids that name existing, unexpired stores, each marked as used."""
    out = []
    for vs_id in dict.fromkeys(vector_store_ids):
        obj = store.get("vector_store", vs_id)
        if obj is None or is_expired(obj):
            continue
        touch(store, vs_id)
        out.append(vs_id)
    return out


def pending_files(store: Store, vector_store_ids: list[str]) -> int:
    """How many files of these stores are still being indexed."""
    index_tables.ensure(store)
    with store.reading() as conn:
        return conn.execute(
            "SELECT count(*) FROM vs_files WHERE status = 'in_progress' "
            "AND vector_store_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(vector_store_ids)),),
        ).fetchone()[0]


def wait_until_indexed(store: Store, vector_store_ids: list[str], timeout: float = 60.0) -> bool:
    """Block until no file of these stores is in progress (True) or ``timeout`` passes.

    For the run engine: like OpenAI, a run's file search should see files attached
    just before it (e.g. message attachments). Blocking; call it from a thread.
    """
    deadline = time.monotonic() + timeout
    while pending_files(store, vector_store_ids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


# -- search -------------------------------------------------------------------------------


def search(
    store: Store,
    vector_store_ids: list[str],
    query: str,
    *,
    max_num_results: int = 20,
    score_threshold: float = 0.0,
    filters: dict[str, Any] | None = None,
) -> list[file_search.SearchHit]:
    """The best chunks for ``query`` across the given stores, best first (the file search
    tool's and the search endpoint's query). Unknown and expired stores are skipped; the
    others count as used (their ``last_active_at`` moves to now)."""
    return file_search.search(
        store,
        usable_vector_stores(store, vector_store_ids),
        query,
        max_num_results=max_num_results,
        score_threshold=score_threshold,
        filters=filters,
    )


def search_vector_store(store: Store, vector_store_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /vector_stores/{id}/search: a VectorStoreSearchRequest body (checked by the
    caller except ``filters``) → a search results page."""
    obj = require_vector_store(store, vector_store_id)
    if is_expired(obj):
        raise invalid(
            f"Vector store '{vector_store_id}' has expired and cannot be searched. "
            "Create a new vector store."
        )
    queries = [body["query"]] if isinstance(body["query"], str) else list(body["query"])
    if not queries:
        raise invalid("Invalid 'query': give a string or a non-empty array.", param="query")
    filters = body.get("filters")
    if filters is not None:
        check_filter(filters)
    ranking = body.get("ranking_options") or {}
    threshold = float(ranking.get("score_threshold", 0.0))
    limit = int(body.get("max_num_results", 10))
    # `rewrite_query` is accepted; queries are used as given (search_query echoes them).
    best: dict[tuple[str, str], file_search.SearchHit] = {}
    for q in queries:
        for hit in search(
            store,
            [vector_store_id],
            q,
            max_num_results=limit,
            score_threshold=threshold,
            filters=filters,
        ):
            key = (hit.file_id, hit.text)
            if key not in best or hit.score > best[key].score:
                best[key] = hit
    hits = sorted(best.values(), key=lambda h: -h.score)[:limit]
    return {
        "object": "vector_store.search_results.page",
        "search_query": queries,
        "data": [
            {
                "file_id": h.file_id,
                "filename": h.filename,
                "score": h.score,
                "attributes": h.attributes,
                "content": [{"type": "text", "text": h.text}],
            }
            for h in hits
        ],
        "has_more": False,
        "next_page": None,
    }


# -- vector store files -----------------------------------------------------------------


def _check_file_ids(store: Store, file_ids: list[str], param: str) -> list[str]:
    for i, file_id in enumerate(file_ids):
        if get_file(store, file_id) is None:
            raise invalid(f"No file found with id '{file_id}'.", param=f"{param}[{i}]")
    return list(dict.fromkeys(file_ids))


def _row_view(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    (_seq, vs_id, file_id, _batch, status, _gen, created_at, usage, attributes, chunking, err) = row
    return {
        "id": file_id,
        "object": "vector_store.file",
        "usage_bytes": usage,
        "created_at": created_at,
        "vector_store_id": vs_id,
        "status": status,
        "last_error": json.loads(err) if err else None,
        "chunking_strategy": json.loads(chunking),
        "attributes": json.loads(attributes),
    }


_COLUMNS = (
    "seq, vector_store_id, file_id, batch_id, status, gen, created_at, usage_bytes, "
    "attributes, chunking, last_error"
)


def _attach(
    c: ServerContext,
    vector_store_id: str,
    file_id: str,
    *,
    attributes: dict[str, Any] | None,
    strategy: ChunkingStrategy,
    batch_id: str | None = None,
) -> dict[str, Any]:
    """Attach a file and queue it for indexing (re-attaching re-indexes, unless the file is
    already indexed with the same chunking, in which case only its attributes change)."""
    store = c.store
    chunking = json.dumps(strategy.wire())
    reindex = True
    with store.transaction() as conn:
        old = conn.execute(
            "SELECT status, chunking FROM vs_files WHERE vector_store_id = ? AND file_id = ?",
            (vector_store_id, file_id),
        ).fetchone()
        if old is None:
            conn.execute(
                "INSERT INTO vs_files (vector_store_id, file_id, batch_id, status, gen, "
                "created_at, attributes, chunking) VALUES (?, ?, ?, 'in_progress', 1, ?, ?, ?)",
                (
                    vector_store_id,
                    file_id,
                    batch_id,
                    now(),
                    json.dumps(attributes or {}, ensure_ascii=False),
                    chunking,
                ),
            )
        elif old[0] == "completed" and old[1] == chunking:
            conn.execute(
                "UPDATE vs_files SET batch_id = coalesce(?, batch_id), "
                "attributes = coalesce(?, attributes) WHERE vector_store_id = ? AND file_id = ?",
                (
                    batch_id,
                    None if attributes is None else json.dumps(attributes, ensure_ascii=False),
                    vector_store_id,
                    file_id,
                ),
            )
            reindex = False
        else:
            file_search.remove_chunks(conn, vector_store_id, file_id)
            conn.execute(
                "UPDATE vs_files SET batch_id = coalesce(?, batch_id), status = 'in_progress', "
                "gen = gen + 1, usage_bytes = 0, last_error = NULL, chunking = ?, "
                "attributes = coalesce(?, attributes) WHERE vector_store_id = ? AND file_id = ?",
                (
                    batch_id,
                    chunking,
                    None if attributes is None else json.dumps(attributes, ensure_ascii=False),
                    vector_store_id,
                    file_id,
                ),
            )
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM vs_files WHERE vector_store_id = ? AND file_id = ?",
            (vector_store_id, file_id),
        ).fetchone()
    touch(store, vector_store_id)
    if reindex:
        c.indexer.submit(vector_store_id, file_id, row[5])
    return _row_view(row)


def attach_file(c: ServerContext, vector_store_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /vector_stores/{id}/files (a CreateVectorStoreFileRequest body)."""
    store = c.store
    _require_active(store, vector_store_id, "take new files")
    index_tables.ensure(store)
    file_id = body["file_id"]
    if get_file(store, file_id) is None:
        raise invalid(f"No file found with id '{file_id}'.", param="file_id")
    strategy = ChunkingStrategy.from_request(body.get("chunking_strategy"))
    return _attach(
        c, vector_store_id, file_id, attributes=body.get("attributes"), strategy=strategy
    )


def get_vs_file(store: Store, vector_store_id: str, file_id: str) -> dict[str, Any]:
    require_vector_store(store, vector_store_id)
    index_tables.ensure(store)
    with store.reading() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM vs_files WHERE vector_store_id = ? AND file_id = ?",
            (vector_store_id, file_id),
        ).fetchone()
    if row is None:
        raise not_found("vector store file", file_id)
    return _row_view(row)


def update_vs_file(
    store: Store, vector_store_id: str, file_id: str, attributes: dict[str, Any] | None
) -> dict[str, Any]:
    get_vs_file(store, vector_store_id, file_id)
    with store.transaction() as conn:
        conn.execute(
            "UPDATE vs_files SET attributes = ? WHERE vector_store_id = ? AND file_id = ?",
            (json.dumps(attributes or {}, ensure_ascii=False), vector_store_id, file_id),
        )
    return get_vs_file(store, vector_store_id, file_id)


def detach_file(store: Store, vector_store_id: str, file_id: str) -> None:
    """Remove a file from a store (the file itself stays)."""
    get_vs_file(store, vector_store_id, file_id)
    with store.transaction() as conn:
        file_search.remove_chunks(conn, vector_store_id, file_id)
        conn.execute(
            "DELETE FROM vs_files WHERE vector_store_id = ? AND file_id = ?",
            (vector_store_id, file_id),
        )


def file_content(store: Store, vector_store_id: str, file_id: str) -> dict[str, Any]:
    """The parsed text of a vector store file: one item per PDF page, one for other types."""
    vs_file = get_vs_file(store, vector_store_id, file_id)
    segments: list[str] = []
    if vs_file["status"] == "completed":
        with store.reading() as conn:
            row = conn.execute(
                "SELECT segments FROM fs_parsed WHERE file_id = ?", (file_id,)
            ).fetchone()
        segments = json.loads(row[0]) if row else []
    return {
        "object": "vector_store.file_content.page",
        "data": [{"type": "text", "text": s} for s in segments if s],
        "has_more": False,
        "next_page": None,
    }


def list_vs_files(
    store: Store,
    vector_store_id: str,
    params: ListParams,
    *,
    status: str | None = None,
    batch_id: str | None = None,
) -> dict[str, Any]:
    """A page of a store's files (optionally one batch's), in attachment order."""
    require_vector_store(store, vector_store_id)
    index_tables.ensure(store)
    if status is not None and status not in STATUSES:
        raise invalid(
            f"Invalid value for 'filter': '{status}'. Expected one of {', '.join(STATUSES)}.",
            param="filter",
        )
    where = "vector_store_id = ?"
    args: list[Any] = [vector_store_id]
    if status is not None:
        where += " AND status = ?"
        args.append(status)
    if batch_id is not None:
        where += " AND batch_id = ?"
        args.append(batch_id)
    asc = params.order == "asc"
    with store.reading() as conn:

        def seq_of(cursor: str, name: str) -> int:
            row = conn.execute(
                "SELECT seq FROM vs_files WHERE vector_store_id = ? AND file_id = ?",
                (vector_store_id, cursor),
            ).fetchone()
            if row is None:
                raise invalid(
                    f"Invalid '{name}': file '{cursor}' is not in vector store "
                    f"'{vector_store_id}'.",
                    param=name,
                )
            return row[0]

        if params.after:
            where += " AND seq > ?" if asc else " AND seq < ?"
            args.append(seq_of(params.after, "after"))
        if params.before:
            where += " AND seq < ?" if asc else " AND seq > ?"
            args.append(seq_of(params.before, "before"))
        backwards = bool(params.before) and not params.after
        direction = "ASC" if asc != backwards else "DESC"
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM vs_files WHERE {where} ORDER BY seq {direction} LIMIT ?",
            [*args, params.limit + 1],
        ).fetchall()
    data = [_row_view(r) for r in rows[: params.limit]]
    if backwards:
        data.reverse()
    return Page(data=data, has_more=len(rows) > params.limit).body()


# -- file batches -------------------------------------------------------------------------


def view_batch(store: Store, batch: dict[str, Any]) -> dict[str, Any]:
    with store.reading() as conn:
        counts, _ = _counts(conn, "batch_id", batch["id"])
    if batch.get("cancelled"):
        status = "cancelled"
    elif counts["in_progress"]:
        status = "in_progress"
    elif counts["total"] and counts["failed"] == counts["total"]:
        status = "failed"
    else:
        status = "completed"
    return {
        "id": batch["id"],
        "object": "vector_store.files_batch",
        "created_at": batch["created_at"],
        "vector_store_id": batch["vector_store_id"],
        "status": status,
        "file_counts": counts,
    }


def require_batch(store: Store, vector_store_id: str, batch_id: str) -> dict[str, Any]:
    require_vector_store(store, vector_store_id)
    index_tables.ensure(store)
    return store.require("vector_store_file_batch", batch_id, parent=vector_store_id)


def create_batch(c: ServerContext, vector_store_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /vector_stores/{id}/file_batches: ``file_ids`` (with shared ``attributes`` and
    ``chunking_strategy``) or ``files`` (each with its own); all ids are checked first."""
    store = c.store
    _require_active(store, vector_store_id, "take new files")
    index_tables.ensure(store)
    if "file_ids" in body and "files" in body:
        raise invalid("Provide either 'file_ids' or 'files', not both.", param="files")
    default = ChunkingStrategy.from_request(body.get("chunking_strategy"))
    items: list[tuple[str, dict[str, Any] | None, ChunkingStrategy]] = []
    if "files" in body:
        for i, f in enumerate(body["files"]):
            if get_file(store, f["file_id"]) is None:
                raise invalid(
                    f"No file found with id '{f['file_id']}'.", param=f"files[{i}].file_id"
                )
            strategy = (
                ChunkingStrategy.from_request(
                    f["chunking_strategy"], f"files[{i}].chunking_strategy"
                )
                if f.get("chunking_strategy")
                else default
            )
            items.append((f["file_id"], f.get("attributes", body.get("attributes")), strategy))
    else:
        for file_id in _check_file_ids(store, body["file_ids"], "file_ids"):
            items.append((file_id, body.get("attributes"), default))
    batch = {
        "id": new_id("vector_store_file_batch"),
        "object": "vector_store.files_batch",
        "created_at": now(),
        "vector_store_id": vector_store_id,
        "cancelled": False,
    }
    store.insert("vector_store_file_batch", batch, parent=vector_store_id)
    seen: set[str] = set()
    for file_id, attributes, strategy in items:
        if file_id in seen:
            continue
        seen.add(file_id)
        _attach(
            c,
            vector_store_id,
            file_id,
            attributes=attributes,
            strategy=strategy,
            batch_id=batch["id"],
        )
    return view_batch(store, batch)


def cancel_batch(store: Store, vector_store_id: str, batch_id: str) -> dict[str, Any]:
    """Cancel the batch's files still being indexed; indexed ones stay."""
    batch = require_batch(store, vector_store_id, batch_id)
    current = view_batch(store, batch)
    if current["status"] in ("completed", "failed"):
        raise invalid(f"Cannot cancel file batch '{batch_id}': it has already {current['status']}.")
    with store.transaction() as conn:
        conn.execute(
            "UPDATE vs_files SET status = 'cancelled', gen = gen + 1 "
            "WHERE batch_id = ? AND status = 'in_progress'",
            (batch_id,),
        )
    batch = store.mutate("vector_store_file_batch", batch_id, lambda b: b.update(cancelled=True))
    return view_batch(store, batch)
