"""The Managed Agents wire format (``/v1/agents``, beta ``OpenAI-Beta: agents=v1``).

OpenAI's pinned spec is silent on agents; these request schemas are transcribed from the
``openai`` SDK's own types (``openai/types/beta/agent_create_params.py``,
``agent_update_params.py``, ``persisted_agent_tool_param.py``, as of openai-python 3.63),
which are generated from OpenAI's spec for the beta. Requests are checked with the same
error wording as every other endpoint (:func:`orchestrator.server.wire.check_against`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]
SERVICE_TIERS = ["auto", "default", "flex", "priority", "fast", "ultrafast"]
# What an agent's `tools` may hold. Not file_search, not code_interpreter: those exist
# only in the Responses API (a tool there, with vector stores / a container).
TOOL_TYPES = [
    "function",
    "tool_search",
    "programmatic_tool_calling",
    "mcp",
    "web_search",
    "computer_use",
    "automations",
]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(
    properties: dict[str, Any], required: tuple[str, ...] = (), open_: bool = False
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if not open_:
        schema["additionalProperties"] = False
    return schema


_STR = {"type": "string"}
_STR_LIST = {"type": "array", "items": _STR}
_NULL_STR = _nullable(_STR)

_TRANSPORT = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": ["http", "stdio"]}},
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "http"}}},
            "then": _obj(
                {
                    "type": {"const": "http"},
                    "server_url": {"type": "string", "minLength": 1},
                    "headers": _nullable({"type": "object", "additionalProperties": _STR}),
                },
                ("type", "server_url"),
            ),
        },
        {
            "if": {"properties": {"type": {"const": "stdio"}}},
            "then": _obj(
                {
                    "type": {"const": "stdio"},
                    "command": {"type": "string", "minLength": 1},
                    "cwd": _STR,
                    "args": _nullable(_STR_LIST),
                    "env_vars": _nullable(_STR_LIST),
                },
                ("type", "command", "cwd"),
            ),
        },
    ],
}

_TOOLS: dict[str, dict[str, Any]] = {
    "function": _obj(
        {
            "type": {"const": "function"},
            "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
            "description": _STR,
            "parameters": {"type": "object"},
            "defer_loading": {"type": "boolean"},
            "async": {"type": "boolean"},
        },
        ("type", "name", "description", "parameters"),
    ),
    "tool_search": _obj({"type": {"const": "tool_search"}}, ("type",)),
    "programmatic_tool_calling": _obj(
        {"type": {"const": "programmatic_tool_calling"}, "enabled": {"type": "boolean"}},
        ("type",),
    ),
    "mcp": _obj(
        {
            "type": {"const": "mcp"},
            "server_label": {"type": "string", "minLength": 1},
            "transport": _TRANSPORT,
            "allowed_tools": _nullable(_STR_LIST),
            "connection_origin": _nullable({"enum": ["service", "environment"]}),
            "credential_id": _NULL_STR,
            "request_metadata": _nullable({"type": "object"}),
            "required": {"type": "boolean"},
        },
        ("type", "server_label", "transport"),
    ),
    "web_search": _obj(
        {
            "type": {"const": "web_search"},
            "allowed_domains": _nullable(_STR_LIST),
            "context_size": _nullable({"enum": ["low", "medium", "high"]}),
            "location": _nullable(
                _obj({k: _NULL_STR for k in ("city", "country", "region", "timezone")})
            ),
            "mode": _nullable({"enum": ["disabled", "cached", "live"]}),
        },
        ("type",),
    ),
    "computer_use": _obj(
        {"type": {"const": "computer_use"}, "include_screenshots": {"type": "boolean"}},
        ("type",),
    ),
    "automations": _obj({"type": {"const": "automations"}}, ("type",)),
}

_TOOL = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": TOOL_TYPES}},
    "allOf": [
        {"if": {"properties": {"type": {"const": name}}}, "then": schema}
        for name, schema in _TOOLS.items()
    ],
}

_TEXT_FORMAT = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": ["text", "json_schema"]}},
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "text"}}},
            "then": _obj({"type": {"const": "text"}}, ("type",)),
        },
        {
            "if": {"properties": {"type": {"const": "json_schema"}}},
            "then": _obj(
                {"type": {"const": "json_schema"}, "schema": {"type": "object"}},
                ("type", "schema"),
            ),
        },
    ],
}

_COMMON: dict[str, Any] = {
    "compaction": _nullable(_obj({"async": _nullable({"type": "boolean"})})),
    "experimental": _obj({"time_awareness": {"type": "boolean"}}),
    "instructions": _NULL_STR,
    "metadata": _nullable({"type": "object", "additionalProperties": _STR}),
    "multi_agent": _nullable(
        _obj(
            {
                "enabled": {"type": "boolean"},
                "max_concurrent_subagents": {"type": "integer", "minimum": 1},
            },
            ("enabled",),
        )
    ),
    "name": _NULL_STR,
    "reasoning": _nullable(
        _obj(
            {
                "effort": _nullable({"enum": REASONING_EFFORTS}),
                "summary": _nullable({"enum": ["concise", "detailed", "auto"]}),
            }
        )
    ),
    "service_tier": _nullable({"enum": SERVICE_TIERS}),
    "text": _nullable(
        _obj(
            {
                "format": _nullable(_TEXT_FORMAT),
                "verbosity": _nullable({"enum": ["low", "medium", "high"]}),
            }
        )
    ),
    "tools": _nullable({"type": "array", "items": _TOOL}),
}

CREATE_AGENT = _obj({**_COMMON, "model": {"type": "string", "minLength": 1}}, ("model",))
UPDATE_AGENT = _obj({**_COMMON, "model": {"type": "string", "minLength": 1}})


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for ``CreateAgentRequest`` or ``UpdateAgentRequest``."""
    schemas = {"CreateAgentRequest": CREATE_AGENT, "UpdateAgentRequest": UPDATE_AGENT}
    return Draft202012Validator(schemas[name])
