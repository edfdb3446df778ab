"""What the model sees for one round of a response: items as a chat-shaped request.

The Responses surface keeps its history as items (messages, function calls and
outputs, file search and code interpreter calls); the providers speak chat messages
(:mod:`providers.base`), the same :class:`ModelRequest` the Assistants run executor
builds, so both surfaces share every provider. What a built-in call's model saw as its
output is kept beside the item (kind ``item_model``), so later requests repeat it.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.server.errors import invalid
from orchestrator.server.prompt import estimate_tokens, truncate
from orchestrator.server.providers.base import ChatMessage, ModelRequest, ToolCall, ToolDef
from orchestrator.server.store import Store

MODEL_KIND = "item_model"


def remember_call(
    store: Store,
    item_id: str,
    arguments: str,
    output: str,
    *,
    sources: dict[str, str] | None = None,
) -> None:
    """What a built-in tool call's model sent and was given, and the citation markers a
    search's output holds (never on the wire)."""
    doc = {"id": f"{item_id}~model", "arguments": arguments, "output": output}
    store.insert(MODEL_KIND, {**doc, "sources": sources or {}})


def known_sources(store: Store, items: list[dict[str, Any]]) -> tuple[dict[str, str], int]:
    """The citation markers of the searches among ``items``, and how many searches."""
    sources: dict[str, str] = {}
    searches = 0
    for item in items:
        if item.get("type") == "file_search_call":
            searches += 1
            sources.update(_seen(store, item["id"]).get("sources") or {})
    return sources, searches


def _seen(store: Store, item_id: str) -> dict[str, Any]:
    return store.get(MODEL_KIND, f"{item_id}~model") or {}


def _text(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    out = []
    for part in parts or []:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            out.append(part.get("text") or "")
        elif kind == "refusal":
            out.append(part.get("refusal") or "")
    return "".join(out)


def _attachments(parts: Any, filenames: dict[str, str]) -> list[dict[str, Any]]:
    if isinstance(parts, str):
        return []
    out = []
    for part in parts or []:
        if part.get("type") == "input_file" and part.get("file_id"):
            file_id = part["file_id"]
            out.append(
                {"file_id": file_id, "filename": filenames.get(file_id, file_id), "tools": []}
            )
    return out


def chat_messages(
    store: Store, items: list[dict[str, Any]], filenames: dict[str, str]
) -> list[ChatMessage]:
    """Items as chat messages, in order: consecutive calls share one assistant turn."""
    out: list[ChatMessage] = []
    pending_outputs: list[ChatMessage] = []

    def calls_turn() -> ChatMessage:
        if out and out[-1].role == "assistant" and out[-1].tool_calls and not pending_outputs:
            return out[-1]
        flush()
        out.append(ChatMessage(role="assistant"))
        return out[-1]

    def flush() -> None:
        out.extend(pending_outputs)
        pending_outputs.clear()

    for item in items:
        kind = item.get("type")
        if kind == "message":
            flush()
            role = item["role"]
            chat_role = (
                "assistant" if role == "assistant" else ("user" if role == "user" else "system")
            )
            out.append(
                ChatMessage(
                    role=chat_role,
                    content=_text(item.get("content")),
                    attachments=_attachments(item.get("content"), filenames),
                )
            )
        elif kind == "function_call":
            calls_turn().tool_calls.append(
                ToolCall(
                    id=item["call_id"],
                    type="function",
                    name=item["name"],
                    arguments=item.get("arguments") or "",
                )
            )
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else _text(output)
            out.append(ChatMessage(role="tool", content=text, tool_call_id=item["call_id"]))
        elif kind in ("file_search_call", "code_interpreter_call"):
            seen = _seen(store, item["id"])
            tool = "file_search" if kind == "file_search_call" else "code_interpreter"
            arguments = seen.get("arguments")
            if arguments is None:
                if kind == "file_search_call":
                    arguments = json.dumps({"query": " ".join(item.get("queries") or [])})
                else:
                    arguments = json.dumps({"code": item.get("code") or ""}, ensure_ascii=False)
            turn = calls_turn()
            turn.tool_calls.append(
                ToolCall(id=item["id"], type=tool, name=tool, arguments=arguments)
            )
            out.append(
                ChatMessage(role="tool", content=seen.get("output") or "", tool_call_id=item["id"])
            )
    flush()
    return out


def tool_defs(tools: list[dict[str, Any]]) -> list[ToolDef]:
    out = []
    for tool in tools:
        if tool["type"] == "function":
            out.append(
                ToolDef(
                    type="function",
                    name=tool["name"],
                    description=tool.get("description") or "",
                    parameters=tool.get("parameters") or {},
                    strict=bool(tool.get("strict")),
                )
            )
        elif tool["type"] == "file_search":
            out.append(ToolDef(type="file_search", name="file_search"))
        elif tool["type"] == "code_interpreter":
            out.append(ToolDef(type="code_interpreter", name="code_interpreter"))
    return out


def chat_tool_choice(choice: Any, called_before: bool) -> Any:
    """The Responses ``tool_choice`` in the providers' (chat) form."""
    if isinstance(choice, dict):
        if choice.get("type") == "function":
            choice = {"type": "function", "function": {"name": choice["name"]}}
        elif choice.get("type") in ("file_search", "code_interpreter"):
            choice = {"type": choice["type"]}
        elif choice.get("type") == "allowed_tools":
            choice = choice.get("mode") or "auto"
    # "required"/a named tool means "call it before replying", as on the run executor.
    if choice not in ("auto", "none", None) and called_before:
        return "auto"
    return choice or "auto"


def response_format(text: dict[str, Any] | None) -> Any:
    """``text.format`` in the chat ``response_format`` form the providers take."""
    fmt = (text or {}).get("format") or {"type": "text"}
    if fmt.get("type") == "json_schema":
        spec = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": spec}
    return {"type": fmt.get("type", "text")}


def fitted(
    history: list[ChatMessage],
    fixed: list[ChatMessage],
    tools: list[ToolDef],
    truncation: str | None,
    window: int,
) -> list[ChatMessage]:
    """The history that goes to the model: with ``truncation: "auto"`` the oldest items
    are dropped until the request fits the context window (as a run's ``auto``
    truncation strategy does, :func:`prompt.truncate`); ``"disabled"`` sends it all, and
    a request over the window is the client's error (OpenAI's 400)."""
    if truncation == "auto":
        kept = truncate(history, fixed, tools, {"type": "auto"}, window)
        # A tool output whose call was dropped means nothing to a model (and chat
        # upstreams refuse it): it goes with its call.
        while len(kept) > 1 and kept[0].role == "tool":
            kept = kept[1:]
        return kept
    if estimate_tokens(fixed + history, tools) > window:
        raise invalid(
            f"Your input exceeds the context window of this model ({window} tokens). "
            "Please adjust your input and try again, or set truncation to 'auto'.",
            param="input",
            code="context_length_exceeded",
        )
    return history


def system_messages(response: dict[str, Any]) -> list[ChatMessage]:
    instructions = response.get("instructions")
    return [ChatMessage(role="system", content=instructions)] if instructions else []


def build_request(
    response: dict[str, Any],
    history: list[ChatMessage],
    own: list[ChatMessage],
    tools: list[ToolDef],
    *,
    completion_budget: int | None,
    script_key: str,
    window: int | None = None,
) -> ModelRequest:
    """One round's request; ``window`` (the model's context) fits the history to it."""
    system = system_messages(response)
    if window is not None:
        history = fitted(history, system + own, tools, response.get("truncation"), window)
    called = any(m.tool_calls for m in own)
    return ModelRequest(
        model=response["model"],
        messages=system + history + own,
        tools=tools,
        tool_choice=chat_tool_choice(response.get("tool_choice"), called),
        parallel_tool_calls=response.get("parallel_tool_calls", True),
        temperature=response.get("temperature"),
        top_p=response.get("top_p"),
        response_format=response_format(response.get("text")),
        max_completion_tokens=completion_budget,
        thread_id=script_key,
        run_id=response["id"],
    )
