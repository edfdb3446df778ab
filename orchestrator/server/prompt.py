"""What the model sees for one step of a run: a chat-shaped :class:`ModelRequest`.

System instructions (the run's, with ``additional_instructions`` already appended),
the thread's messages (truncated per ``truncation_strategy``), then this run's own
steps so far: its replies, and its tool calls each followed by their outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from orchestrator.server.objects import message_text
from orchestrator.server.providers.base import ChatMessage, ModelRequest, ToolCall, ToolDef
from orchestrator.server.providers.tokens import estimate_tokens, message_tokens
from orchestrator.server.store import HistoryMessage, Store

# The token estimate is defined with the local model's counting (providers.tokens);
# callers that build prompts find it here too.
__all__ = ["estimate_tokens", "message_tokens"]


@dataclass
class RunResources:
    """The tool resources a run can use: assistant's, thread's and the run's own, merged."""

    vector_store_ids: list[str] = field(default_factory=list)
    code_file_ids: list[str] = field(default_factory=list)


def merge_resources(*sources: dict[str, Any] | None) -> RunResources:
    out = RunResources()
    for resources in sources:
        resources = resources or {}
        for vs_id in (resources.get("file_search") or {}).get("vector_store_ids") or []:
            if vs_id not in out.vector_store_ids:
                out.vector_store_ids.append(vs_id)
        for file_id in (resources.get("code_interpreter") or {}).get("file_ids") or []:
            if file_id not in out.code_file_ids:
                out.code_file_ids.append(file_id)
    return out


def tool_defs(tools: list[dict[str, Any]], resources: RunResources) -> list[ToolDef]:
    out = []
    for tool in tools:
        if tool["type"] == "function":
            fn = tool["function"]
            out.append(
                ToolDef(
                    type="function",
                    name=fn["name"],
                    description=fn.get("description") or "",
                    parameters=fn.get("parameters") or {},
                    strict=bool(fn.get("strict")),
                )
            )
        elif tool["type"] == "file_search":
            # Offered only with something to search, as OpenAI does.
            if resources.vector_store_ids:
                out.append(ToolDef(type="file_search", name="file_search"))
        elif tool["type"] == "code_interpreter":
            out.append(ToolDef(type="code_interpreter", name="code_interpreter"))
    return out


def thread_messages(
    messages: list[HistoryMessage], run_id: str, filenames: dict[str, str]
) -> list[ChatMessage]:
    """The thread's messages (oldest first) as chat messages, without this run's own
    (they come later, from its steps)."""
    out = []
    for message in messages:
        if message.run_id == run_id:
            continue
        attachments = [
            {
                "file_id": a["file_id"],
                "filename": filenames.get(a["file_id"], a["file_id"]),
                "tools": [t["type"] for t in a.get("tools", [])],
            }
            for a in message.attachments
        ]
        out.append(ChatMessage(role=message.role, content=message.text, attachments=attachments))
    return out


def step_messages(
    store: Store, steps: list[dict[str, Any]], calls_seen: dict[str, dict[str, str]]
) -> list[ChatMessage]:
    """This run's steps so far as chat messages: replies, tool calls and their outputs.

    ``calls_seen`` holds, per tool call id, the ``arguments`` the model sent and the
    ``output`` text it was given (kept by the engine, so later requests repeat them
    exactly).
    """
    out: list[ChatMessage] = []
    for step in steps:
        details = step["step_details"]
        if details["type"] == "message_creation":
            message = store.get("message", details["message_creation"]["message_id"])
            if message is not None:
                out.append(ChatMessage(role="assistant", content=message_text(message)))
            continue
        calls = details.get("tool_calls") or []
        if not calls:
            continue
        out.append(
            ChatMessage(role="assistant", tool_calls=[_chat_call(c, calls_seen) for c in calls])
        )
        for call in calls:
            seen = calls_seen.get(call["id"], {})
            output = seen.get("output")
            if output is None and call["type"] == "function":
                output = call["function"].get("output")
            out.append(ChatMessage(role="tool", content=output or "", tool_call_id=call["id"]))
    return out


def _chat_call(call: dict[str, Any], calls_seen: dict[str, dict[str, str]]) -> ToolCall:
    if call["type"] == "function":
        fn = call["function"]
        return ToolCall(id=call["id"], type="function", name=fn["name"], arguments=fn["arguments"])
    arguments = calls_seen.get(call["id"], {}).get("arguments")
    if arguments is None:
        if call["type"] == "code_interpreter":
            arguments = json.dumps({"code": call["code_interpreter"]["input"]}, ensure_ascii=False)
        else:
            arguments = "{}"
    return ToolCall(id=call["id"], type=call["type"], name=call["type"], arguments=arguments)


def truncate(
    history: list[ChatMessage],
    fixed: list[ChatMessage],
    tools: list[ToolDef],
    strategy: dict[str, Any] | None,
    budget: int | None,
) -> list[ChatMessage]:
    """The thread history that goes into the request.

    ``last_messages``: the n most recent messages. ``auto``: with a prompt budget
    (``max_prompt_tokens`` left), the oldest messages are dropped until the request
    fits; the most recent message always stays.
    """
    strategy = strategy or {"type": "auto"}
    if strategy.get("type") == "last_messages" and strategy.get("last_messages"):
        history = history[-int(strategy["last_messages"]) :]
    if budget is None:
        return history
    # The estimate is a sum over messages: count each once and subtract as the oldest
    # go, so a long thread costs one pass, not one full re-count per dropped message.
    costs = [message_tokens(m) for m in history]
    total = estimate_tokens(fixed, tools) + sum(costs)
    start = 0
    while len(history) - start > 1 and total > budget:
        total -= costs[start]
        start += 1
    return history[start:]


def build_request(
    run: dict[str, Any],
    history: list[ChatMessage],
    steps: list[dict[str, Any]],
    store: Store,
    calls_seen: dict[str, dict[str, str]],
    tools: list[ToolDef],
    *,
    prompt_budget: int | None,
    completion_budget: int | None,
) -> ModelRequest:
    system = (
        [ChatMessage(role="system", content=run["instructions"])] if run["instructions"] else []
    )
    own = step_messages(store, steps, calls_seen)
    kept = truncate(history, system + own, tools, run.get("truncation_strategy"), prompt_budget)
    tool_choice = run.get("tool_choice") or "auto"
    # "required" or a named tool means "call it before replying" (OpenAI's wording): once
    # this run has called tools the model may reply. Forcing again would make a real
    # model (the chat provider's upstream) call the tool every round until the cap.
    if tool_choice not in ("auto", "none") and any(m.tool_calls for m in own):
        tool_choice = "auto"
    return ModelRequest(
        model=run["model"],
        messages=system + kept + own,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=run.get("parallel_tool_calls", True),
        temperature=run.get("temperature"),
        top_p=run.get("top_p"),
        response_format=run.get("response_format"),
        max_completion_tokens=completion_budget,
        thread_id=run["thread_id"],
        run_id=run["id"],
    )
