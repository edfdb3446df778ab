"""``POST /v1/chat/completions``, served by the local model.

So that one server can be the upstream of another (the ``chat`` model provider,
tested with no network and no mock), and so that any Chat Completions client can
talk to the deterministic local model. Requests are validated against the pinned
spec's ``CreateChatCompletionRequest``; messages (system, developer, user,
assistant with ``tool_calls``, tool; content as a string or parts) become a
:class:`~orchestrator.server.providers.base.ModelRequest` for
:class:`~orchestrator.server.providers.local.LocalModel`. Function tools,
``tool_choice`` (including ``allowed_tools``), ``parallel_tool_calls``,
``response_format``, ``max_completion_tokens``/``max_tokens``, ``stop`` and ``n`` are
honoured. Answers are a ``chat.completion`` object or, with ``stream: true``,
``chat.completion.chunk`` server-sent events (``data:`` lines only, ending
``data: [DONE]``), with ``stream_options.include_usage`` honoured.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from orchestrator.server.errors import APIError, invalid
from orchestrator.server.ids import new_id, now
from orchestrator.server.providers.base import (
    ChatMessage,
    ModelError,
    ModelRequest,
    ModelResponse,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDef,
)
from orchestrator.server.providers.local import LocalModel
from orchestrator.server.routes.deps import json_body
from orchestrator.server.services.resources import check_function_name

router = APIRouter()

# Reported in responses, so a client can tell which backend answered.
SYSTEM_FINGERPRINT = "fp_orchestrator_local"
_MODEL = LocalModel(None)  # no store: chat completions have no thread, hence no script


@router.post("/chat/completions")
async def create_chat_completion(request: Request) -> Any:
    body = await json_body(request, "CreateChatCompletionRequest")
    call = parse_request(body)
    completion_id = new_id("chat_completion")
    call.model_request.run_id = completion_id  # tool call ids derive from it: unique
    stream = _MODEL.stream(call.model_request)
    # Pull the first item before answering, so a model error is a JSON 400, not a
    # broken event stream (the local model decides everything up front).
    try:
        first = await anext(stream)
    except ModelError as exc:
        raise _api_error(exc) from None
    header = _Header(completion_id, now(), call.model)
    if call.stream:
        return StreamingResponse(
            _sse(header, call, first, stream),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    response = first
    async for item in stream:
        response = item
    assert isinstance(response, ModelResponse)
    return _completion(header, call, response)


# -- request ----------------------------------------------------------------------------


@dataclass
class ChatCall:
    """A validated chat completions request, mapped for the model."""

    model: str
    model_request: ModelRequest
    stream: bool = False
    include_usage: bool = False
    n: int = 1
    stop: list[str] = field(default_factory=list)


def parse_request(body: dict[str, Any]) -> ChatCall:
    """Map a ``CreateChatCompletionRequest`` body (already schema-valid)."""
    for legacy, instead in (("functions", "tools"), ("function_call", "tool_choice")):
        if body.get(legacy) is not None:
            raise invalid(
                f"'{legacy}' is deprecated and not supported by this server; use '{instead}'.",
                param=legacy,
            )
    tools = [_tool(i, t) for i, t in enumerate(body.get("tools") or [])]
    tool_choice = body.get("tool_choice")
    if tool_choice is None:
        tool_choice = "auto"
    tools, tool_choice = _apply_tool_choice(tools, tool_choice)
    stop = body.get("stop")
    stop_list = [stop] if isinstance(stop, str) else [s for s in stop or [] if s]
    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    parallel = body.get("parallel_tool_calls")
    request = ModelRequest(
        model=body["model"],
        messages=_messages(body["messages"]),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=True if parallel is None else bool(parallel),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        response_format=body.get("response_format"),
        max_completion_tokens=max_tokens,
    )
    options = body.get("stream_options") or {}
    return ChatCall(
        model=body["model"],
        model_request=request,
        stream=bool(body.get("stream")),
        include_usage=bool(options.get("include_usage")) and bool(body.get("stream")),
        n=body.get("n") or 1,
        stop=stop_list,
    )


def _tool(index: int, tool: dict[str, Any]) -> ToolDef:
    if tool.get("type") != "function":
        raise invalid(
            f"Invalid value for 'tools[{index}].type': the local model supports function "
            f"tools only, not {tool.get('type')!r}.",
            param=f"tools[{index}].type",
        )
    fn = tool["function"]
    check_function_name(fn["name"], f"tools[{index}].function.name")
    return ToolDef(
        type="function",
        name=fn["name"],
        description=fn.get("description") or "",
        parameters=fn.get("parameters") or {},
        strict=bool(fn.get("strict")),
    )


def _apply_tool_choice(tools: list[ToolDef], choice: Any) -> tuple[list[ToolDef], Any]:
    names = [t.name for t in tools]
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind == "allowed_tools":
            allowed = choice["allowed_tools"]
            wanted = {
                (t.get("function") or {}).get("name")
                for t in allowed.get("tools", [])
                if t.get("type") == "function"
            }
            unknown = sorted(n for n in wanted if n not in names)
            if unknown:
                raise invalid(
                    f"Invalid value for 'tool_choice.allowed_tools.tools': function "
                    f"{unknown[0]!r} is not among the request's tools.",
                    param="tool_choice",
                )
            return [t for t in tools if t.name in wanted], allowed.get("mode", "auto")
        if kind == "function":
            name = choice["function"]["name"]
            if name not in names:
                raise invalid(
                    f"Invalid value for 'tool_choice': function {name!r} is not among the "
                    f"request's tools ({', '.join(names) or 'none given'}).",
                    param="tool_choice",
                )
            return tools, choice
        raise invalid(
            f"Invalid value for 'tool_choice': the local model supports function tools only, "
            f"not {kind!r}.",
            param="tool_choice",
        )
    if choice == "required" and not tools:
        raise invalid(
            "Invalid value for 'tool_choice': 'required' needs at least one tool in 'tools'.",
            param="tool_choice",
        )
    return tools, choice


def _text(content: Any) -> str:
    """Text of a message's content: a string, or the text (and refusal) of its parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    out = []
    for part in content:
        if part.get("type") == "text":
            out.append(part.get("text", ""))
        elif part.get("type") == "refusal":
            out.append(part.get("refusal", ""))
    return "\n".join(out)


def _attachments(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return []
    described: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "file":
            file = part.get("file") or {}
            described.append(
                {"type": "file", "file_id": file.get("file_id"), "filename": file.get("filename")}
            )
        elif kind in ("image_url", "input_audio"):
            described.append({"type": kind})
    return described


def _messages(raw: list[dict[str, Any]]) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    for m in raw:
        role = m["role"]
        if role in ("system", "developer"):
            out.append(ChatMessage(role="system", content=_text(m.get("content"))))
        elif role == "user":
            content = m.get("content")
            out.append(
                ChatMessage(role="user", content=_text(content), attachments=_attachments(content))
            )
        elif role == "assistant":
            calls = [
                ToolCall(
                    id=c["id"],
                    type="function",
                    name=c["function"]["name"],
                    arguments=c["function"].get("arguments", ""),
                )
                for c in m.get("tool_calls") or []
                if c.get("type") == "function"
            ]
            out.append(
                ChatMessage(role="assistant", content=_text(m.get("content")), tool_calls=calls)
            )
        elif role == "tool":
            out.append(
                ChatMessage(
                    role="tool", content=_text(m.get("content")), tool_call_id=m["tool_call_id"]
                )
            )
        else:  # the deprecated "function" role
            raise invalid(
                "Messages with role 'function' are deprecated and not supported by this server; "
                "use tool calls and role 'tool'.",
                param="messages",
            )
    return out


def _api_error(exc: ModelError) -> APIError:
    if exc.code == "invalid_prompt":
        return APIError(400, exc.message, code="invalid_prompt")
    if exc.code == "rate_limit_exceeded":
        return APIError(429, exc.message, type="rate_limit_exceeded", code=exc.code)
    return APIError(500, exc.message, type="server_error", code=exc.code)


# -- response ---------------------------------------------------------------------------


@dataclass
class _Header:
    id: str
    created: int
    model: str

    def base(self, obj: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }


def _usage(response: ModelResponse) -> dict[str, Any]:
    u = response.usage
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _completion(header: _Header, call: ChatCall, response: ModelResponse) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "refusal": None, "annotations": []}
    finish = response.finish_reason
    if response.tool_calls:
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in response.tool_calls
        ]
    else:
        text, stopped = _cut_at_stop(response.text or "", call.stop)
        message["content"] = text
        if stopped:
            finish = "stop"
    choices = [
        {"index": i, "message": message, "finish_reason": finish, "logprobs": None}
        for i in range(call.n)
    ]
    return {**header.base("chat.completion"), "choices": choices, "usage": _usage(response)}


def _cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


class _StopFilter:
    """Streams text through, ending it before the first stop sequence.

    Holds back the last ``len(longest stop) - 1`` characters, so a stop sequence
    split across two deltas is still caught.
    """

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.keep = max((len(s) for s in stops), default=1) - 1
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        self.pending += text
        cut, stopped = _cut_at_stop(self.pending, self.stops)
        if stopped:
            self.stopped, self.pending = True, ""
            return cut
        if self.keep <= 0:
            out, self.pending = self.pending, ""
            return out
        out, self.pending = self.pending[: -self.keep], self.pending[-self.keep :]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


async def _sse(
    header: _Header,
    call: ChatCall,
    first: TextDelta | ToolCallDelta | ModelResponse,
    rest: AsyncIterator[TextDelta | ToolCallDelta | ModelResponse],
) -> AsyncIterator[bytes]:
    base = header.base("chat.completion.chunk")
    if call.include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choices = [
            {"index": i, "delta": delta, "finish_reason": finish, "logprobs": None}
            for i in range(call.n)
        ]
        return _data({**base, "choices": choices})

    stop = _StopFilter(call.stop)
    opened = False

    def open_with(delta: dict[str, Any]) -> bytes:
        nonlocal opened
        opened = True
        return chunk({"role": "assistant", **delta})

    async def items() -> AsyncIterator[TextDelta | ToolCallDelta | ModelResponse]:
        yield first
        async for item in rest:
            yield item

    final: ModelResponse | None = None
    async for item in items():
        if isinstance(item, ModelResponse):
            final = item
            break
        if isinstance(item, TextDelta):
            text = stop.feed(item.text)
            if not opened:
                yield open_with({"content": "", "refusal": None})
            if text:
                yield chunk({"content": text})
        else:
            piece: dict[str, Any] = {"index": item.index}
            if item.id is not None:
                piece.update(id=item.id, type="function")
                piece["function"] = {"name": item.name, "arguments": item.arguments}
            else:
                piece["function"] = {"arguments": item.arguments}
            if not opened:
                yield open_with({"content": None, "tool_calls": [piece]})
            else:
                yield chunk({"tool_calls": [piece]})
    assert final is not None
    if not opened:  # an empty reply still opens the message
        yield open_with({"content": "", "refusal": None})
    tail = stop.flush()
    if tail:
        yield chunk({"content": tail})
    finish = "stop" if stop.stopped else final.finish_reason
    yield chunk({}, finish)
    if call.include_usage:
        yield _data({**base, "choices": [], "usage": _usage(final)})
    yield b"data: [DONE]\n\n"


def _data(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()
