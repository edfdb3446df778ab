"""/v1/threads/{thread_id}/messages: create (with attachments), retrieve, modify, delete, list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from orchestrator.server.context import ServerContext
from orchestrator.server.routes.deps import ctx, json_body, list_params
from orchestrator.server.services import messages
from orchestrator.server.store import ListParams

router = APIRouter()


@router.post("/threads/{thread_id}/messages")
async def create_message(
    thread_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "CreateMessageRequest")
    return messages.create_message(c, thread_id, body)


@router.get("/threads/{thread_id}/messages")
async def list_messages(
    thread_id: str,
    run_id: str | None = None,
    params: ListParams = Depends(list_params),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    c.store.require("thread", thread_id)
    where = {"run_id": run_id} if run_id else None
    return c.store.list("message", params, parent=thread_id, where=where).body()


@router.get("/threads/{thread_id}/messages/{message_id}")
async def retrieve_message(
    thread_id: str, message_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    c.store.require("thread", thread_id)
    return c.store.require("message", message_id, parent=thread_id)


@router.post("/threads/{thread_id}/messages/{message_id}")
async def modify_message(
    thread_id: str, message_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "ModifyMessageRequest")
    return messages.modify_message(c, thread_id, message_id, body)


@router.delete("/threads/{thread_id}/messages/{message_id}")
async def delete_message(
    thread_id: str, message_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    messages.delete_message(c, thread_id, message_id)
    return {"id": message_id, "object": "thread.message.deleted", "deleted": True}
