"""Threads: created with their first messages and tool resources, modified, deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.server.objects import new_thread
from orchestrator.server.services.messages import insert_message, prepare_message
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.services.resources import check_tool_resources

if TYPE_CHECKING:
    from orchestrator.server.context import ServerContext


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


def modify_thread(c: ServerContext, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
    c.store.require("thread", thread_id)
    changes: dict[str, Any] = {}
    if "metadata" in body:
        changes["metadata"] = check_metadata(body["metadata"])
    if "tool_resources" in body:
        changes["tool_resources"] = check_tool_resources(c, body["tool_resources"] or {})
    return c.store.mutate("thread", thread_id, lambda t: t.update(changes))


async def delete_thread(c: ServerContext, thread_id: str) -> None:
    c.store.require("thread", thread_id)
    # Stop whatever runs on it first, so no run writes into a deleted thread.
    await c.engine.forget_thread(thread_id)
    c.store.delete_children(thread_id)
    c.store.delete("thread", thread_id)
