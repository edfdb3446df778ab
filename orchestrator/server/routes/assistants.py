"""/v1/assistants: create, retrieve, modify, delete, list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from orchestrator.server.context import ServerContext, ctx, json_body, list_params
from orchestrator.server.ids import new_id, now
from orchestrator.server.services.resources import check_tool_resources, normalise_tools
from orchestrator.server.store import ListParams

router = APIRouter()

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


@router.post("/assistants")
async def create_assistant(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    body = await json_body(request, "CreateAssistantRequest")
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


@router.get("/assistants/{assistant_id}")
async def retrieve_assistant(assistant_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return c.store.require("assistant", assistant_id)


@router.post("/assistants/{assistant_id}")
async def modify_assistant(
    assistant_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    body = await json_body(request, "ModifyAssistantRequest")
    assistant = c.store.require("assistant", assistant_id)
    _apply(c, assistant, body)
    return c.store.put("assistant", assistant)


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
