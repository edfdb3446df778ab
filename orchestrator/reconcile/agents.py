"""Assistants as OpenAI Managed Agents (``/v1/agents``): what can become one, and the mapping.

The planner compares assistants in the Assistants-v2 form (:mod:`.normalise`); an agent
is read into that form by :func:`assistant_view` and written from it by
:func:`agent_body`. What an agent cannot hold never reaches it:

- tools: only functions map (an agent has no ``file_search`` and no
  ``code_interpreter``, and its function tools have no ``strict`` mode);
- ``response_format``: ``text`` and ``json_schema`` map to ``text.format`` (the schema's
  name is not kept); ``json_object`` does not;
- ``description``, ``temperature``, ``top_p``: an agent has no such fields; they stay in
  the assistant's Responses profile (the lock file), which is what applications send.

:func:`agent_fields` is the assistant as an agent holds it (a round trip through the
mapping), so a plan compares like with like and a second apply writes nothing.
"""

from __future__ import annotations

from typing import Any

# The name a json_schema response format gets back (an agent keeps only the schema).
JSON_SCHEMA_NAME = "response"
DEFAULT_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


# -- assistant form -> agent request body ----------------------------------------------------


def agent_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """An assistant-form tool as an agent's; only functions (and agent tools) get here."""
    if tool.get("type") != "function":
        return dict(tool)
    fn = tool.get("function") or {}
    return {
        "type": "function",
        "name": fn.get("name"),
        "description": fn.get("description") or "",
        "parameters": fn.get("parameters") or DEFAULT_PARAMETERS,
    }


def _text(response_format: Any) -> dict[str, Any] | None:
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return {"format": {"type": "json_schema", "schema": schema}}
    return None  # text, auto or unset: the agent's default (plain text)


def agent_body(fields: dict[str, Any]) -> dict[str, Any]:
    """An agent create/update body from assistant-form fields: only the fields given
    (partial update), ``None`` where a field is reset."""
    body: dict[str, Any] = {}
    for name in ("name", "model", "instructions"):
        if name in fields:
            body[name] = fields[name]
    if "tools" in fields:
        body["tools"] = [agent_tool(t) for t in fields["tools"] or []]
    if "response_format" in fields:
        body["text"] = _text(fields["response_format"])
    if "reasoning_effort" in fields:
        effort = fields["reasoning_effort"]
        body["reasoning"] = {"effort": effort} if effort else None
    if "metadata" in fields:
        body["metadata"] = fields["metadata"]
    return body


# -- agent -> assistant form ------------------------------------------------------------------


def _assistant_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return dict(tool)  # web_search, mcp, ...: compared and exported as they are
    fn: dict[str, Any] = {
        "name": tool.get("name"),
        "parameters": tool.get("parameters") or DEFAULT_PARAMETERS,
    }
    if tool.get("description"):
        fn["description"] = tool["description"]
    return {"type": "function", "function": fn}


def _response_format(text: dict[str, Any] | None) -> Any:
    fmt = (text or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": JSON_SCHEMA_NAME, "schema": fmt.get("schema") or {}},
        }
    return "auto"


def assistant_view(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent's JSON in the Assistants-v2 form the planner and export read."""
    return {
        "id": agent["id"],
        "object": "agent",
        "created_at": agent.get("created_at") or 0,
        "name": agent.get("name"),
        "description": None,
        "model": agent.get("model"),
        "instructions": agent.get("instructions"),
        "tools": [_assistant_tool(t) for t in agent.get("tools") or []],
        "tool_resources": {},
        "metadata": dict(agent.get("metadata") or {}),
        "temperature": None,
        "top_p": None,
        "response_format": _response_format(agent.get("text")),
        "reasoning_effort": (agent.get("reasoning") or {}).get("effort"),
    }


def agent_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Assistant-form fields as an agent holds them (what a plan compares with)."""
    body = agent_body(fields)
    text = body.get("text") or {}
    view = assistant_view(
        {
            "id": "",
            "name": body.get("name"),
            "model": body.get("model"),
            "instructions": body.get("instructions"),
            "tools": body.get("tools") or [],
            "text": text,
            "reasoning": body.get("reasoning") or {},
        }
    )
    out = {name: view[name] for name in fields}
    if out.get("response_format") == "auto":
        out["response_format"] = None  # the server's default, as desired fields say it
    return out
