"""/v1/assistants: create, retrieve, modify, delete, list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from orchestrator.server.context import ServerContext
from orchestrator.server.routes.deps import ctx, json_body, list_params
from orchestrator.server.services import assistants
from orchestrator.server.store import ListParams

router = APIRouter()


@router.post("/assistants")
async def create_assistant(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    body = await json_body(request, "CreateAssistantRequest")
    return assistants.create_assistant(c, body)


@router.get("/assistants/{assistant_id}")
async def retrieve_assistant(assistant_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return c.store.require("assistant", assistant_id)


@router.post("/assistants/{assistant_id}")
async def modify_assistant(
    assistant_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "ModifyAssistantRequest")
    return assistants.modify_assistant(c, assistant_id, body)


@router.delete("/assistants/{assistant_id}")
async def delete_assistant(assistant_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    c.store.require("assistant", assistant_id)
    c.store.delete("assistant", assistant_id)
    return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}


@router.get("/assistants")
async def list_assistants(
    params: ListParams = Depends(list_params), c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return c.store.list("assistant", params).body()
