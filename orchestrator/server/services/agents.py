"""Managed Agents: created and updated from request bodies, with the values OpenAI resolves.

An agent is stored as the SDK's ``Agent`` reads it: every default resolved (tools in their
persisted form, ``reasoning``/``text``/``multi_agent`` filled in), so a client that diffs
what it sent against what it reads back sees exactly what the service keeps. Update is
partial: an omitted field is unchanged, ``null`` resets it, ``tools`` and ``metadata`` are
replaced whole, ``experimental`` merges by key.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from orchestrator.server.errors import invalid
from orchestrator.server.ids import new_id, now
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.wire import agents as agent_wire  # `agents` is this module's noun
from orchestrator.server.wire import check_against

if TYPE_CHECKING:
    from orchestrator.server.context import ServerContext

# OpenAI's limit on an agent's tool list, in compact UTF-8 JSON.
MAX_TOOLS_BYTES = 3 * 1024 * 1024
_DEFAULT_SUBAGENTS = 6


def create_agent(c: ServerContext, body: dict[str, Any]) -> dict[str, Any]:
    """A new agent from a create body (checked against ``CreateAgentRequest``)."""
    check_against(agent_wire.validator("CreateAgentRequest"), body)
    created = now()
    agent: dict[str, Any] = {
        "id": new_id("agent"),
        "object": "agent",
        "created_at": created,
        "updated_at": created,
        "name": None,
        "model": body["model"],
        "instructions": None,
        "metadata": {},
        "tools": [],
        "reasoning": _reasoning(None),
        "text": _text(None),
        "multi_agent": _multi_agent(None),
        "service_tier": "auto",
        "compaction": {"async": False},
        "experimental": {"time_awareness": False},
    }
    _apply(agent, body)
    return c.store.insert("agent", agent)


def update_agent(c: ServerContext, agent_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial update (checked against ``UpdateAgentRequest``)."""
    check_against(agent_wire.validator("UpdateAgentRequest"), body)
    c.store.require("agent", agent_id)

    def change(agent: dict[str, Any]) -> None:
        _apply(agent, body)
        agent["updated_at"] = now()

    return c.store.mutate("agent", agent_id, change)


def delete_agent(c: ServerContext, agent_id: str) -> dict[str, Any]:
    c.store.require("agent", agent_id)
    c.store.delete("agent", agent_id)
    return {"id": agent_id, "object": "agent.deleted", "deleted": True}


def _apply(agent: dict[str, Any], body: dict[str, Any]) -> None:
    """Copy the fields a body names onto the agent, resolving ``null`` to the default."""
    for key in ("model", "name", "instructions"):
        if key in body:
            agent[key] = body[key]
    if "metadata" in body:
        agent["metadata"] = check_metadata(body["metadata"])
    if "tools" in body:
        agent["tools"] = _tools(body["tools"] or [])
    if "reasoning" in body:
        agent["reasoning"] = _reasoning(body["reasoning"])
    if "text" in body:
        agent["text"] = _text(body["text"])
    if "multi_agent" in body:
        agent["multi_agent"] = _multi_agent(body["multi_agent"])
    if "service_tier" in body:
        agent["service_tier"] = body["service_tier"] or "auto"
    if "compaction" in body:
        # Accepted for compatibility; compaction is always blocking.
        agent["compaction"] = {"async": False}
    if "experimental" in body:
        agent["experimental"] = {**agent["experimental"], **body["experimental"]}


def _reasoning(given: dict[str, Any] | None) -> dict[str, Any]:
    given = given or {}
    return {"effort": given.get("effort"), "summary": given.get("summary")}


def _text(given: dict[str, Any] | None) -> dict[str, Any]:
    given = given or {}
    return {
        "format": given.get("format") or {"type": "text"},
        "verbosity": given.get("verbosity") or "medium",
    }


def _multi_agent(given: dict[str, Any] | None) -> dict[str, Any]:
    if not given or not given.get("enabled"):
        return {"enabled": False, "max_concurrent_subagents": None}
    return {
        "enabled": True,
        "max_concurrent_subagents": given.get("max_concurrent_subagents", _DEFAULT_SUBAGENTS),
    }


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    size = len(json.dumps(tools, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_TOOLS_BYTES:
        raise invalid(
            f"Invalid 'tools': the tool list is {size} bytes of compact JSON; "
            f"it must fit within {MAX_TOOLS_BYTES} bytes.",
            param="tools",
        )
    resolved = [_tool(t) for t in tools]
    seen: dict[str, int] = {}
    for i, tool in enumerate(resolved):
        key = _tool_key(tool)
        if key in seen:
            raise invalid(
                f"Invalid 'tools[{i}]': duplicate tool {key!r} (also tools[{seen[key]}]).",
                param=f"tools[{i}]",
            )
        seen[key] = i
    return resolved


def _tool_key(tool: dict[str, Any]) -> str:
    if tool["type"] == "function":
        return f"function {tool['name']}"
    if tool["type"] == "mcp":
        return f"mcp {tool['server_label']}"
    return tool["type"]


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as the agent persists it: every optional field resolved."""
    kind = tool["type"]
    if kind == "function":
        out = {
            "type": "function",
            "name": tool["name"],
            "description": tool["description"],
            "parameters": tool["parameters"],
            "defer_loading": tool.get("defer_loading", False),
        }
        if "async" in tool:
            out["async"] = tool["async"]
        return out
    if kind == "web_search":
        return {
            "type": "web_search",
            "allowed_domains": tool.get("allowed_domains"),
            "context_size": tool.get("context_size") or "medium",
            "location": tool.get("location"),
            "mode": tool.get("mode") or "live",
        }
    if kind == "mcp":
        return {
            "type": "mcp",
            "server_label": tool["server_label"],
            "transport": _transport(tool["transport"]),
            "allowed_tools": tool.get("allowed_tools"),
            "connection_origin": tool.get("connection_origin") or "service",
            "credential_id": tool.get("credential_id"),
            "request_metadata": tool.get("request_metadata") or {},
            "required": tool.get("required", False),
        }
    if kind == "programmatic_tool_calling":
        return {"type": kind, "enabled": tool.get("enabled", True)}
    if kind == "computer_use":
        return {"type": kind, "include_screenshots": tool.get("include_screenshots", False)}
    return {"type": kind}


def _transport(transport: dict[str, Any]) -> dict[str, Any]:
    if transport["type"] == "http":
        return {
            "type": "http",
            "server_url": transport["server_url"],
            "headers": transport.get("headers") or {},
        }
    return {
        "type": "stdio",
        "command": transport["command"],
        "cwd": transport["cwd"],
        "args": transport.get("args") or [],
        "env_vars": transport.get("env_vars") or [],
    }
