"""Tool calls written as text, for upstream models without native tool calling.

Small open models (and chat templates with no tool support) answer a tool request with
text such as ``{"name": "get_weather", "arguments": {"location": "Paris"}}`` and
``finish_reason: stop`` instead of ``tool_calls``. Each upstream picks how its calls
arrive (``UpstreamConfig.tool_call_format``):

- ``native`` (the default): tools go in ``tools``; calls come in ``tool_calls``.
- ``json-in-text``: no ``tools`` parameter is sent (llama.cpp without ``--jinja``
  rejects it: "tools param requires --jinja flag"). The system message lists the
  tools (name, description, JSON Schema) and the answer format, and one example
  exchange shows a call; earlier calls in the conversation are written the same way
  and tool results come back as user messages. Replies are parsed as below.
- ``auto``: tools are sent natively; a text reply that parses as tool calls becomes
  tool calls (for servers that accept ``tools`` but whose model answers in text).

Parsing is strict, so a reply that merely mentions JSON stays a reply: stripped, the
text must be nothing but tool calls -- a JSON object ``{"name", "arguments"}``
(``"parameters"`` also names the arguments; OpenAI's ``{"type": "function",
"function": {...}}`` works too), or a JSON array of them, optionally in a fenced
block or in ``<tool_call>`` tags. Every name must be an offered function (its wire
name) and every arguments object must validate against that function's parameters;
anything else is the model's reply, passed on as written.

While a reply may still turn out to be a call (its first non-blank character is
``{``, ``[``, `````` ` `````` or ``<``), its text is held back rather than streamed,
then either parsed into calls or released as one piece.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from orchestrator.server.providers.argument_gen import (
    ArgumentGenerationError,
    MessageWords,
    generate_arguments,
    schema_problem,
)

_HOLD_STARTS = ("{", "[", "`", "<")
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```$", re.S)
_TAGS = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)
EXAMPLE_REQUEST = "(An example of calling a tool.)"


@dataclass(frozen=True)
class TextCall:
    name: str
    arguments: str  # JSON


def parse_text_calls(text: str, functions: dict[str, dict[str, Any]]) -> list[TextCall] | None:
    """The tool calls ``text`` consists of (module docstring), or None if it is a reply.

    ``functions`` maps each offered function's wire name to its parameters schema.
    """
    body = text.strip()
    if not body or body[0] not in _HOLD_STARTS:
        return None
    pieces = _pieces(body)
    if pieces is None:
        return None
    calls: list[TextCall] = []
    for piece in pieces:
        try:
            value = json.loads(piece)
        except ValueError:
            return None
        for item in value if isinstance(value, list) else [value]:
            call = _call(item, functions)
            if call is None:
                return None
            calls.append(call)
    return calls or None


def _pieces(body: str) -> list[str] | None:
    """The JSON texts of a reply: the tags' contents, a fence's, or the body itself."""
    if body.startswith("<"):
        found = _TAGS.findall(body)
        # Nothing but tags (and blanks) around them.
        return found if found and not _TAGS.sub("", body).strip() else None
    if body.startswith("`"):
        m = _FENCE.match(body)
        return [m.group(1)] if m else None
    return [body]


def _call(item: Any, functions: dict[str, dict[str, Any]]) -> TextCall | None:
    if not isinstance(item, dict):
        return None
    if item.get("type") == "function" and isinstance(item.get("function"), dict):
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or name not in functions:
        return None
    keys = set(item) - {"name", "type", "id"}
    if len(keys) > 1:
        return None  # e.g. a schema echoed back: name, description, parameters
    arguments = item.get("arguments", item.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    schema = functions[name] or {"type": "object"}
    if schema_problem(schema, arguments) is not None:
        return None
    return TextCall(name, json.dumps(arguments, ensure_ascii=False))


class TextHold:
    """Holds back streamed text while it may still be a tool call written as text."""

    def __init__(self) -> None:
        self.held: list[str] = []
        self.released = False

    def feed(self, piece: str) -> str:
        """The text to pass on now ('' while holding)."""
        if self.released:
            return piece
        self.held.append(piece)
        start = "".join(self.held).lstrip()
        if not start or start[0] in _HOLD_STARTS:
            return ""
        self.released = True
        out, self.held = "".join(self.held), []
        return out

    def take(self) -> str:
        """What is still held (at the end of the reply)."""
        out, self.held = "".join(self.held), []
        return out


# -- json-in-text: the request -------------------------------------------------------------


def call_text(name: str, arguments: str) -> str:
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        parsed = arguments
    return json.dumps({"name": name, "arguments": parsed}, ensure_ascii=False)


def _example_arguments(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    try:
        return generate_arguments(name, parameters, MessageWords.from_message(""), strict=False)
    except ArgumentGenerationError:
        return {}


def tools_in_text(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` (from ``build_payload``) with its tools moved into the text."""
    out = dict(payload)
    tools = [t["function"] for t in out.pop("tools", [])]
    choice = out.pop("tool_choice", None)
    out.pop("parallel_tool_calls", None)
    messages = [_plain_message(m, _call_names(payload["messages"])) for m in out["messages"]]
    if not tools or choice == "none":
        out["messages"] = messages
        return out
    lines = ["You can call these tools (JSON Schema of their arguments):"]
    for fn in tools:
        lines.append(json.dumps(fn, ensure_ascii=False))
    lines.append(
        'To call a tool, answer with only a JSON object {"name": "<tool name>", '
        '"arguments": {<arguments>}} and nothing else; to call several, a JSON array of '
        "such objects. Tool results come back as user messages starting with "
        '"Tool result". If no tool is needed, answer normally.'
    )
    forced = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if forced:
        lines.append(f"Call the tool {forced} now.")
    elif choice == "required":
        lines.append("Call one of the tools now.")
    addendum = "\n".join(lines)
    if messages and messages[0]["role"] == "system":
        system = {"role": "system", "content": f"{messages[0]['content']}\n\n{addendum}"}
        rest = messages[1:]
    else:
        system, rest = {"role": "system", "content": addendum}, messages
    first = next((fn for fn in tools if fn.get("name") == forced), tools[0])
    example = call_text(
        first["name"], json.dumps(_example_arguments(first["name"], first.get("parameters", {})))
    )
    # One example exchange: small models follow a shown call far better than a described one.
    out["messages"] = [
        system,
        {"role": "user", "content": EXAMPLE_REQUEST},
        {"role": "assistant", "content": example},
        *rest,
    ]
    return out


def _call_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    return {
        c.get("id", ""): c["function"]["name"] for m in messages for c in m.get("tool_calls") or []
    }


def _plain_message(m: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    if m["role"] == "assistant" and m.get("tool_calls"):
        calls = [
            call_text(c["function"]["name"], c["function"]["arguments"]) for c in m["tool_calls"]
        ]
        text = calls[0] if len(calls) == 1 else "[" + ", ".join(calls) + "]"
        return {"role": "assistant", "content": text}
    if m["role"] == "tool":
        name = names.get(m.get("tool_call_id", ""), "the tool")
        return {"role": "user", "content": f"Tool result of {name}:\n{m.get('content', '')}"}
    return m
