"""Conversations: a metadata object plus an ordered list of items (see :mod:`~orchestrator.server.engine.item_log`).

Responses run with ``conversation`` read the items as context and append their input
and output items (see :mod:`services.responses`)."""

from __future__ import annotations

from typing import Any

from orchestrator.server.engine import item_log
from orchestrator.server.engine.items import check_include, present, to_items
from orchestrator.server.errors import APIError, invalid
from orchestrator.server.ids import new_id, now
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.store import Order, Page, Store

MAX_ITEMS_PER_REQUEST = 20


def _not_found(conversation_id: str) -> APIError:
    return APIError(404, f"Conversation with id '{conversation_id}' not found.")


def require(store: Store, conversation_id: str) -> dict[str, Any]:
    conversation = store.get("conversation", conversation_id)
    if conversation is None:
        raise _not_found(conversation_id)
    return conversation


def _check_count(items: list[Any] | None, param: str) -> None:
    if items is not None and len(items) > MAX_ITEMS_PER_REQUEST:
        raise invalid(
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{MAX_ITEMS_PER_REQUEST}, but got an array with length {len(items)} instead.",
            param=param,
        )


def create(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    _check_count(body.get("items"), "items")
    items = to_items(store, body.get("items") or [], "items")
    conversation = {
        "id": new_id("conversation"),
        "object": "conversation",
        "created_at": now(),
        "metadata": check_metadata(body.get("metadata")),
    }
    store.insert("conversation", conversation)
    item_log.append(store, conversation["id"], items)
    return conversation


def update(store: Store, conversation_id: str, body: dict[str, Any]) -> dict[str, Any]:
    require(store, conversation_id)
    metadata = check_metadata(body.get("metadata"))

    def change(conversation: dict[str, Any]) -> None:
        conversation["metadata"] = metadata

    return store.mutate("conversation", conversation_id, change)


def delete(store: Store, conversation_id: str) -> dict[str, Any]:
    require(store, conversation_id)
    store.delete("conversation", conversation_id)
    item_log.delete_owner(store, conversation_id)
    return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}


def add_items(
    store: Store, conversation_id: str, raw_items: list[dict[str, Any]], include: list[str]
) -> Page:
    require(store, conversation_id)
    _check_count(raw_items, "items")
    include = check_include(include)
    items = item_log.append(store, conversation_id, to_items(store, raw_items, "items"))
    return Page(data=[present(i, include) for i in items], has_more=False)


def list_items(
    store: Store,
    conversation_id: str,
    *,
    limit: int,
    order: Order,
    after: str | None,
    include: list[str],
) -> Page:
    require(store, conversation_id)
    include = check_include(include)
    page = item_log.page(store, conversation_id, limit=limit, order=order, after=after)
    page.data = [present(i, include) for i in page.data]
    return page


def get_item(
    store: Store, conversation_id: str, item_id: str, include: list[str]
) -> dict[str, Any]:
    require(store, conversation_id)
    item = item_log.get(store, conversation_id, item_id)
    if item is None:
        raise APIError(404, f"Item with id '{item_id}' not found.")
    return present(item, check_include(include))


def delete_item(store: Store, conversation_id: str, item_id: str) -> dict[str, Any]:
    conversation = require(store, conversation_id)
    if not item_log.delete(store, conversation_id, item_id):
        raise APIError(404, f"Item with id '{item_id}' not found.")
    return conversation
