"""/v1/vector_stores: stores, their files, file batches, and search.

Responses about things being indexed carry ``openai-poll-after-ms`` so the SDK's
``create_and_poll`` / ``upload_and_poll`` helpers poll every few milliseconds instead
of their one-second default (indexing here takes milliseconds).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from orchestrator.server.context import ServerContext
from orchestrator.server.routes.deps import ctx, json_body, list_params
from orchestrator.server.services import vector_stores as vsf
from orchestrator.server.store import ListParams
from orchestrator.server.wire import check_request

router = APIRouter()

POLL_AFTER_MS = "20"


def _poll(response: Response) -> None:
    response.headers["openai-poll-after-ms"] = POLL_AFTER_MS


# -- vector stores ------------------------------------------------------------------------


@router.post("/vector_stores")
async def create_store(
    request: Request, response: Response, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "CreateVectorStoreRequest")
    _poll(response)
    return vsf.create_vector_store(c, body)


@router.get("/vector_stores")
async def list_stores(
    params: ListParams = Depends(list_params), c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return vsf.list_vector_stores(c.store, params)


@router.get("/vector_stores/{vector_store_id}")
async def retrieve_store(
    vector_store_id: str, response: Response, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    _poll(response)
    return vsf.view_vector_store(c.store, vsf.require_vector_store(c.store, vector_store_id))


@router.post("/vector_stores/{vector_store_id}")
async def modify_store(
    vector_store_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "UpdateVectorStoreRequest")
    return vsf.modify_vector_store(c.store, vector_store_id, body)


@router.delete("/vector_stores/{vector_store_id}")
async def delete_store(vector_store_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    vsf.delete_vector_store(c.store, vector_store_id)
    return {"id": vector_store_id, "object": "vector_store.deleted", "deleted": True}


@router.post("/vector_stores/{vector_store_id}/search")
async def search_store(
    vector_store_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request)
    # The spec's CompoundFilter recurses with `$recursiveRef`, which a 2020-12 validator
    # reads as "anything", making nested filters ambiguous; filters are checked by
    # check_filter instead, the rest of the body against the schema.
    check_request("VectorStoreSearchRequest", {k: v for k, v in body.items() if k != "filters"})
    # Off the event loop: ranking is CPU work that grows with the store, and reads go
    # through the worker thread's own connection (they wait for no writer).
    return await asyncio.to_thread(vsf.search_vector_store, c.store, vector_store_id, body)


# -- vector store files -------------------------------------------------------------------


@router.post("/vector_stores/{vector_store_id}/files")
async def create_store_file(
    vector_store_id: str, request: Request, response: Response, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "CreateVectorStoreFileRequest")
    _poll(response)
    return vsf.attach_file(c, vector_store_id, body)


@router.get("/vector_stores/{vector_store_id}/files")
async def list_store_files(
    vector_store_id: str,
    filter: str | None = None,
    params: ListParams = Depends(list_params),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    return vsf.list_vs_files(c.store, vector_store_id, params, status=filter)


@router.get("/vector_stores/{vector_store_id}/files/{file_id}")
async def retrieve_store_file(
    vector_store_id: str, file_id: str, response: Response, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    _poll(response)
    return vsf.get_vs_file(c.store, vector_store_id, file_id)


@router.post("/vector_stores/{vector_store_id}/files/{file_id}")
async def update_store_file(
    vector_store_id: str, file_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "UpdateVectorStoreFileAttributesRequest")
    return vsf.update_vs_file(c.store, vector_store_id, file_id, body["attributes"])


@router.delete("/vector_stores/{vector_store_id}/files/{file_id}")
async def delete_store_file(
    vector_store_id: str, file_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    vsf.detach_file(c.store, vector_store_id, file_id)
    return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}


@router.get("/vector_stores/{vector_store_id}/files/{file_id}/content")
async def store_file_content(
    vector_store_id: str, file_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return vsf.file_content(c.store, vector_store_id, file_id)


# -- file batches -------------------------------------------------------------------------


@router.post("/vector_stores/{vector_store_id}/file_batches")
async def create_file_batch(
    vector_store_id: str, request: Request, response: Response, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "CreateVectorStoreFileBatchRequest")
    _poll(response)
    return vsf.create_batch(c, vector_store_id, body)


@router.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}")
async def retrieve_file_batch(
    vector_store_id: str, batch_id: str, response: Response, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    _poll(response)
    return vsf.view_batch(c.store, vsf.require_batch(c.store, vector_store_id, batch_id))


@router.post("/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel")
async def cancel_file_batch(
    vector_store_id: str, batch_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return vsf.cancel_batch(c.store, vector_store_id, batch_id)


@router.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}/files")
async def list_file_batch_files(
    vector_store_id: str,
    batch_id: str,
    filter: str | None = None,
    params: ListParams = Depends(list_params),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    vsf.require_batch(c.store, vector_store_id, batch_id)
    return vsf.list_vs_files(c.store, vector_store_id, params, status=filter, batch_id=batch_id)
