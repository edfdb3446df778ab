"""Mapping between the engine's :class:`ModelRequest` and a ``/v1/chat/completions`` call.

Pure functions and one small stateful assembler, no I/O, so the ``chat`` provider's
transport (``chat.py``) stays about HTTP, retries and errors.

The built-in tools are offered to the upstream model as ordinary functions:
``file_search`` takes ``{"query": string}``, ``code_interpreter`` takes
``{"code": string}``. Their names on the wire are chosen per request so that they can
never clash with a user function: the natural name when it is free (models know what
``file_search`` and ``code_interpreter`` do), else a ``builtin_`` name, else a numbered
one. The same choice maps the upstream's calls back to ``ToolCall(type=...)``.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from orchestrator.server.providers.base import (
    ChatMessage,
    ModelRequest,
    ToolCall,
    ToolCallDelta,
    ToolDef,
    ToolType,
    Usage,
)

BUILTINS: tuple[ToolType, ...] = ("file_search", "code_interpreter")

FILE_SEARCH_DESCRIPTION = (
    "Search the files attached to this assistant and conversation. Returns the most "
    "relevant passages, each headed by a citation marker such as 【0:1†guide.md】. Use it "
    "whenever the answer may be in those files."
)
FILE_SEARCH_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "description": "What to look for: a short question or a few keywords.",
        }
    },
    "required": ["query"],
    "additionalProperties": False,
}
CODE_INTERPRETER_DESCRIPTION = (
    "Run Python 3 code in a sandbox and get back what it prints (stdout and stderr). "
    "Each call is a fresh process with no network; files persist in the working "
    "directory, which holds the files attached to the conversation under their names. "
    "Files the code writes there (e.g. plots saved as PNG) are returned to the user."
)
CODE_INTERPRETER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {
            "type": "string",
            "description": "The Python code to run. Print the results you need to see.",
        }
    },
    "required": ["code"],
    "additionalProperties": False,
}


def _file_search_addendum(name: str) -> str:
    return (
        f"When you answer from the results of the `{name}` tool, cite each passage you "
        "use by copying the marker that heads it (the text in 【 】 brackets) exactly as it "
        "appears in the tool output, right after the sentence it supports. Do not invent, "
        "change or reformat markers."
    )


def _code_interpreter_addendum(name: str) -> str:
    return (
        f"Use the `{name}` tool to run Python for calculations, data analysis and files; "
        "attached files are in its working directory under their names."
    )


@dataclass(frozen=True)
class WireNames:
    """The function names the built-ins have on the wire for one request."""

    file_search: str
    code_interpreter: str

    def wire(self, type_: ToolType, name: str) -> str:
        if type_ == "file_search":
            return self.file_search
        if type_ == "code_interpreter":
            return self.code_interpreter
        return name

    def builtin_for(self, wire_name: str) -> ToolType | None:
        if wire_name == self.file_search:
            return "file_search"
        if wire_name == self.code_interpreter:
            return "code_interpreter"
        return None


_BUILTIN_WIRE_NAME = re.compile(r"^(?:builtin_)?(file_search|code_interpreter)(?:_\d+)?$")
_BUILTIN_ARGUMENT = {"file_search": "query", "code_interpreter": "code"}


def builtin_offered_as(tool: ToolDef) -> ToolType | None:
    """The built-in a function tool stands for, when it is one :func:`wire_names` names
    and it takes the built-in's one string argument (a downstream server's offer)."""
    m = _BUILTIN_WIRE_NAME.match(tool.name) if tool.type == "function" else None
    if m is None:
        return None
    builtin: ToolType = m.group(1)  # type: ignore[assignment]
    properties = tool.parameters.get("properties") if isinstance(tool.parameters, dict) else None
    argument = properties.get(_BUILTIN_ARGUMENT[builtin]) if isinstance(properties, dict) else None
    if not isinstance(argument, dict) or argument.get("type") != "string":
        return None
    return builtin


def wire_names(request: ModelRequest) -> WireNames:
    """Names for the built-ins that no user function of this request uses."""
    taken = {t.name for t in request.tools if t.type == "function"}
    taken |= {c.name for m in request.messages for c in m.tool_calls if c.type == "function"}
    chosen: dict[str, str] = {}
    for builtin in BUILTINS:
        candidates = [builtin, f"builtin_{builtin}"]
        candidates += [f"builtin_{builtin}_{i}" for i in range(2, 100)]
        chosen[builtin] = next(c for c in candidates if c not in taken)
        taken.add(chosen[builtin])
    return WireNames(**chosen)


def upstream_model(model: str, model_map: dict[str, str]) -> str:
    """The assistant's model name as the upstream knows it (``*`` maps all the rest)."""
    return model_map.get(model) or model_map.get("*") or model


def describe_attachments(attachments: list[dict[str, Any]]) -> str:
    """``[attached: data.csv (code_interpreter), guide.pdf (file_search)]``."""
    parts = []
    for a in attachments:
        name = a.get("filename") or a.get("name") or a.get("file_id") or "file"
        tools = []
        for t in a.get("tools") or []:
            kind = t.get("type") if isinstance(t, dict) else t
            if kind:
                tools.append(str(kind))
        parts.append(f"{name} ({', '.join(tools)})" if tools else str(name))
    return f"[attached: {', '.join(parts)}]" if parts else ""


def _wire_tool_call(call: ToolCall, names: WireNames) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": names.wire(call.type, call.name), "arguments": call.arguments or "{}"},
    }


def _wire_message(m: ChatMessage, names: WireNames) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content}
    if m.role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": m.content or None}
        if m.tool_calls:
            out["tool_calls"] = [_wire_tool_call(c, names) for c in m.tool_calls]
        else:
            out["content"] = m.content
        return out
    content = m.content
    described = describe_attachments(m.attachments)
    if described:
        content = f"{content}\n\n{described}" if content else described
    return {"role": m.role, "content": content}


def _wire_tools(request: ModelRequest, names: WireNames) -> list[dict[str, Any]]:
    tools = []
    for t in request.tools:
        if t.type == "file_search":
            fn: dict[str, Any] = {
                "name": names.file_search,
                "description": FILE_SEARCH_DESCRIPTION,
                "parameters": FILE_SEARCH_PARAMETERS,
            }
        elif t.type == "code_interpreter":
            fn = {
                "name": names.code_interpreter,
                "description": CODE_INTERPRETER_DESCRIPTION,
                "parameters": CODE_INTERPRETER_PARAMETERS,
            }
        else:
            fn = {"name": t.name}
            if t.description:
                fn["description"] = t.description
            # Some upstreams (llama.cpp, older vLLM) need a schema even for no arguments.
            fn["parameters"] = t.parameters or {"type": "object", "properties": {}}
            if t.strict:
                fn["strict"] = True
        tools.append({"type": "function", "function": fn})
    return tools


def _wire_tool_choice(choice: Any, names: WireNames) -> Any:
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind in BUILTINS:
            return {"type": "function", "function": {"name": names.wire(kind, kind)}}
        return choice
    return choice


def _wire_response_format(fmt: Any) -> Any:
    # "auto" and plain text are the upstream default; omitting them suits every upstream.
    if fmt is None or fmt == "auto":
        return None
    if isinstance(fmt, dict) and fmt.get("type") in ("text", "auto"):
        return None
    return fmt


def build_payload(request: ModelRequest, model: str, names: WireNames) -> dict[str, Any]:
    """The JSON body of the upstream ``POST /chat/completions`` (streaming)."""
    system: list[str] = [m.content for m in request.messages if m.role == "system" and m.content]
    offered = {t.type for t in request.tools}
    if "file_search" in offered:
        system.append(_file_search_addendum(names.file_search))
    if "code_interpreter" in offered:
        system.append(_code_interpreter_addendum(names.code_interpreter))
    # One system message first: several chat templates (llama.cpp, Mistral on vLLM)
    # reject system messages anywhere else.
    messages = [{"role": "system", "content": "\n\n".join(system)}] if system else []
    messages += [_wire_message(m, names) for m in request.messages if m.role != "system"]

    payload: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
    payload["stream_options"] = {"include_usage": True}
    tools = _wire_tools(request, names)
    if tools:
        # OpenAI rejects tool_choice / parallel_tool_calls without tools.
        payload["tools"] = tools
        payload["tool_choice"] = _wire_tool_choice(request.tool_choice, names)
        payload["parallel_tool_calls"] = request.parallel_tool_calls
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    if request.top_p is not None:
        payload["top_p"] = request.top_p
    fmt = _wire_response_format(request.response_format)
    if fmt is not None:
        payload["response_format"] = fmt
    if request.max_completion_tokens is not None:
        payload["max_completion_tokens"] = request.max_completion_tokens
        # Older upstreams only know max_tokens; one that rejects it gets it dropped.
        payload["max_tokens"] = request.max_completion_tokens
    return payload


def estimate_tokens(text: str) -> int:
    """Roughly four characters a token; used only when the upstream reports no usage."""
    return math.ceil(len(text) / 4) if text else 0


def estimate_prompt_tokens(payload: dict[str, Any]) -> int:
    text = json.dumps(payload.get("messages", []), ensure_ascii=False)
    if payload.get("tools"):
        text += json.dumps(payload["tools"], ensure_ascii=False)
    return estimate_tokens(text)


def parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


@dataclass
class _Slot:
    index: int
    id: str
    upstream_index: int | None
    # False when the upstream sent no id and we made one up.
    upstream_id: bool = True
    wire_name: str = ""
    arguments: list[str] = field(default_factory=list)
    announced: bool = False


class ToolCallAssembler:
    """Turns upstream ``tool_calls`` deltas into :class:`ToolCallDelta` s and ToolCalls.

    Keeps the upstream's call ids (the engine stores them and the client answers them);
    makes one up only when an upstream sends none. Tolerates upstreams that send a whole
    call in one chunk, omit ``index``, or send the name after the first piece.
    """

    def __init__(self, names: WireNames, offered: set[ToolType]) -> None:
        self.names = names
        self.offered = offered
        self.slots: list[_Slot] = []

    def _slot_for(self, up_index: int | None, call_id: str | None) -> _Slot:
        for slot in reversed(self.slots):
            if call_id and slot.id == call_id:
                return slot
            if up_index is not None and slot.upstream_index == up_index:
                if call_id and slot.upstream_id and slot.id != call_id:
                    break  # The same index reused for a new call.
                return slot
        if up_index is None and not call_id and self.slots:
            return self.slots[-1]  # A continuation piece without index or id.
        slot = _Slot(
            index=len(self.slots),
            id=call_id or f"call_{secrets.token_hex(12)}",
            upstream_index=up_index,
            upstream_id=bool(call_id),
        )
        self.slots.append(slot)
        return slot

    def _kind(self, wire_name: str) -> tuple[ToolType, str]:
        builtin = self.names.builtin_for(wire_name)
        if builtin and builtin in self.offered:
            return builtin, builtin
        return "function", wire_name

    def feed(self, raw: dict[str, Any]) -> ToolCallDelta | None:
        up_index = raw.get("index") if isinstance(raw.get("index"), int) else None
        call_id = raw.get("id") or None
        fn = raw.get("function") or {}
        name = fn.get("name") or ""
        args = fn.get("arguments")
        if isinstance(args, (dict, list)):  # Some upstreams send parsed arguments.
            args = json.dumps(args, ensure_ascii=False)
        args = args or ""
        slot = self._slot_for(up_index, call_id)
        if name and not slot.wire_name:
            slot.wire_name = name
        slot.arguments.append(args)
        if not slot.wire_name:
            return None  # Wait for the name: the first delta must carry it.
        if not slot.announced:
            slot.announced = True
            type_, our_name = self._kind(slot.wire_name)
            return ToolCallDelta(
                index=slot.index,
                id=slot.id,
                type=type_,
                name=our_name,
                arguments="".join(slot.arguments),
            )
        return ToolCallDelta(index=slot.index, arguments=args) if args else None

    def unnamed(self) -> list[str]:
        return [s.id for s in self.slots if not s.wire_name]

    def calls(self) -> list[ToolCall]:
        out = []
        for slot in self.slots:
            type_, name = self._kind(slot.wire_name)
            out.append(
                ToolCall(
                    id=slot.id,
                    type=type_,
                    name=name,
                    arguments="".join(slot.arguments) or "{}",
                )
            )
        return out
