"""/v1/conversations: create, retrieve, update, delete; items create, list, retrieve, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from orchestrator.server.context import ServerContext
from orchestrator.server.errors import invalid
from orchestrator.server.routes.deps import ctx, include_values, json_body
from orchestrator.server.services import conversations
from orchestrator.server.wire import check_against, operation_validator

router = APIRouter()


@router.post("/conversations")
async def create_conversation(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    body = await json_body(request, "CreateConversationBody")
    return conversations.create(c.store, body)


@router.get("/conversations/{conversation_id}")
async def retrieve_conversation(
    conversation_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return conversations.require(c.store, conversation_id)


@router.post("/conversations/{conversation_id}")
async def update_conversation(
    conversation_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "UpdateConversationBody")
    return conversations.update(c.store, conversation_id, body)


@router.delete("/conversations/{conversation_id}")
async def delete_conversation(
    conversation_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return conversations.delete(c.store, conversation_id)


@router.post("/conversations/{conversation_id}/items")
async def create_items(
    conversation_id: str,
    request: Request,
    include: list[str] = Depends(include_values),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    body = await json_body(request)
    # The operation's body schema is inline in the spec, not a named component.
    check_against(operation_validator("/conversations/{conversation_id}/items", "post"), body)
    if "items" not in body:
        raise invalid("Missing required parameter: 'items'.", param="items")
    return conversations.add_items(c.store, conversation_id, body["items"], include).body()


@router.get("/conversations/{conversation_id}/items")
async def list_items(
    conversation_id: str,
    limit: int = 20,
    order: str = "desc",
    after: str | None = None,
    include: list[str] = Depends(include_values),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    page = conversations.list_items(
        c.store,
        conversation_id,
        limit=limit,
        order=order,  # type: ignore[arg-type]
        after=after,
        include=include,
    )
    return page.body()


@router.get("/conversations/{conversation_id}/items/{item_id}")
async def retrieve_item(
    conversation_id: str,
    item_id: str,
    include: list[str] = Depends(include_values),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    return conversations.get_item(c.store, conversation_id, item_id, include)


@router.delete("/conversations/{conversation_id}/items/{item_id}")
async def delete_item(
    conversation_id: str, item_id: str, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return conversations.delete_item(c.store, conversation_id, item_id)
