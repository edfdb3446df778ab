"""/v1/threads: create (with messages and tool_resources), retrieve, modify, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from orchestrator.server.context import ServerContext
from orchestrator.server.routes.deps import ctx, json_body
from orchestrator.server.services import threads

router = APIRouter()


@router.post("/threads")
async def create_thread(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    body = await json_body(request, "CreateThreadRequest")
    return threads.create_thread(c, body)


@router.get("/threads/{thread_id}")
async def retrieve_thread(thread_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return c.store.require("thread", thread_id)


@router.post("/threads/{thread_id}")
async def modify_thread(
    thread_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "ModifyThreadRequest")
    return threads.modify_thread(c, thread_id, body)


@router.delete("/threads/{thread_id}")
async def delete_thread(thread_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    await threads.delete_thread(c, thread_id)
    return {"id": thread_id, "object": "thread.deleted", "deleted": True}
