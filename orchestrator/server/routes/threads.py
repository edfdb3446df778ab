"""/v1/threads: create (with messages and tool_resources), retrieve, modify, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from orchestrator.server.context import ServerContext, ctx, json_body
from orchestrator.server.objects import new_thread
from orchestrator.server.routes.messages import insert_message, prepare_message
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.services.resources import check_tool_resources

router = APIRouter()


@router.post("/threads")
async def create_thread_route(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    body = await json_body(request, "CreateThreadRequest")
    return create_thread(c, body)


def create_thread(c: ServerContext, body: dict[str, Any], param: str = "") -> dict[str, Any]:
    """A new thread with its initial messages (``body``: a CreateThreadRequest).

    Everything is checked before anything is stored, so a bad message leaves no thread.
    """
    metadata = check_metadata(body.get("metadata"), f"{param}metadata")
    prepared = [
        prepare_message(c, m, f"{param}messages[{i}]")
        for i, m in enumerate(body.get("messages") or [])
    ]
    resources = check_tool_resources(c, body.get("tool_resources") or {})
    thread = c.store.insert("thread", new_thread(metadata, resources))
    for message in prepared:
        insert_message(c, thread, message)
    return c.store.require("thread", thread["id"])


@router.get("/threads/{thread_id}")
async def retrieve_thread(thread_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return c.store.require("thread", thread_id)


@router.post("/threads/{thread_id}")
async def modify_thread(
    thread_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "ModifyThreadRequest")
    c.store.require("thread", thread_id)
    changes: dict[str, Any] = {}
    if "metadata" in body:
        changes["metadata"] = check_metadata(body["metadata"])
    if "tool_resources" in body:
        changes["tool_resources"] = check_tool_resources(c, body["tool_resources"] or {})
    return c.store.mutate("thread", thread_id, lambda t: t.update(changes))


@router.delete("/threads/{thread_id}")
async def delete_thread(thread_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    c.store.require("thread", thread_id)
    # Stop whatever runs on it first, so no run writes into a deleted thread.
    await c.engine.forget_thread(thread_id)
    c.store.delete_children(thread_id)
    c.store.delete("thread", thread_id)
    return {"id": thread_id, "object": "thread.deleted", "deleted": True}
