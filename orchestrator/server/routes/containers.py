"""/v1/containers: create, list, retrieve, delete; files upload / add by id, list,
retrieve, content, delete."""

from __future__ import annotations

import mimetypes
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from orchestrator.server.context import ServerContext
from orchestrator.server.errors import invalid
from orchestrator.server.routes.deps import ctx, json_body, list_params
from orchestrator.server.services import containers
from orchestrator.server.store import ListParams

router = APIRouter()


@router.post("/containers")
async def create_container(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    body = await json_body(request, "CreateContainerBody")
    return containers.create(c.store, body)


@router.get("/containers")
async def list_containers(
    name: str | None = None,
    params: ListParams = Depends(list_params),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    return containers.list_containers(
        c.store, params, name, minute=c.config.container_minute_seconds
    ).body()


@router.get("/containers/{container_id}")
async def retrieve_container(container_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return containers.require(c.store, container_id, minute=c.config.container_minute_seconds)


@router.delete("/containers/{container_id}")
async def delete_container(container_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return containers.delete(c.store, container_id)


@router.post("/containers/{container_id}/files")
async def create_container_file(
    container_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        body = await json_body(request, "CreateContainerFileBody")
        if not isinstance(body.get("file_id"), str):
            raise invalid(
                "Send either a multipart 'file' or a JSON body with 'file_id'.", param="file_id"
            )
        return containers.add_stored_file(
            c.store, container_id, body["file_id"], minute=c.config.container_minute_seconds
        )
    form = await request.form()
    try:
        extra = sorted(set(form.keys()) - {"file"})
        if extra:
            raise invalid(
                f"Unrecognized request argument supplied: {', '.join(extra)}", param=extra[0]
            )
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid("Missing required parameter: 'file'.", param="file")
        data = await upload.read()
        return containers.add_file(
            c.store,
            container_id,
            upload.filename or "",
            data,
            minute=c.config.container_minute_seconds,
        )
    finally:
        await form.close()


@router.get("/containers/{container_id}/files")
async def list_container_files(
    container_id: str,
    params: ListParams = Depends(list_params),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    return containers.list_files(c.store, container_id, params).body()


@router.get("/containers/{container_id}/files/{file_id}")
async def retrieve_container_file(
    container_id: str, file_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return containers.require_file(c.store, container_id, file_id)


@router.get("/containers/{container_id}/files/{file_id}/content")
async def container_file_content(
    container_id: str, file_id: str, c: ServerContext = Depends(ctx)
) -> Response:
    obj, data = containers.file_bytes(c.store, container_id, file_id)
    guessed, _ = mimetypes.guess_type(obj["path"])
    return Response(
        content=data,
        media_type=guessed
        if guessed and guessed != "application/json"
        else "application/octet-stream",
        headers={"x-content-type-options": "nosniff"},
    )


@router.delete("/containers/{container_id}/files/{file_id}")
async def delete_container_file(
    container_id: str, file_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return containers.delete_file(c.store, container_id, file_id)
