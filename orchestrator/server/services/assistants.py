"""Assistants: created and modified from request bodies, with OpenAI's defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.server.ids import new_id, now
from orchestrator.server.services.resources import check_tool_resources, normalise_tools

if TYPE_CHECKING:
    from orchestrator.server.context import ServerContext

_MUTABLE = (
    "name",
    "description",
    "model",
    "instructions",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
    "reasoning_effort",
)


def create_assistant(c: ServerContext, body: dict[str, Any]) -> dict[str, Any]:
    """A new assistant from a CreateAssistantRequest body."""
    assistant: dict[str, Any] = {
        "id": new_id("assistant"),
        "object": "assistant",
        "created_at": now(),
        "name": None,
        "description": None,
        "model": body["model"],
        "instructions": None,
        "tools": [],
        "tool_resources": {},
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "response_format": "auto",
    }
    _apply(c, assistant, body)
    return c.store.insert("assistant", assistant)


def modify_assistant(c: ServerContext, assistant_id: str, body: dict[str, Any]) -> dict[str, Any]:
    assistant = c.store.require("assistant", assistant_id)
    _apply(c, assistant, body)
    return c.store.put("assistant", assistant)


def _apply(c: ServerContext, assistant: dict[str, Any], body: dict[str, Any]) -> None:
    """Copy the given fields of a create/modify body onto the assistant."""
    for key in _MUTABLE:
        if key not in body:
            continue
        value = body[key]
        if key in ("temperature", "top_p") and value is None:
            value = 1.0
        elif key == "metadata" and value is None:
            value = {}
        elif key == "response_format" and value is None:
            value = "auto"
        assistant[key] = value
    if assistant.get("reasoning_effort") is None:
        assistant.pop("reasoning_effort", None)
    if "tools" in body:
        assistant["tools"] = normalise_tools(body["tools"] or [])
    if "tool_resources" in body:
        assistant["tool_resources"] = check_tool_resources(c, body["tool_resources"] or {})
