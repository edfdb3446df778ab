"""The chat provider's pure parts: request mapping, delta assembly, error meaning.

These are plain functions over dataclasses, tested directly; the provider over real
HTTP is in ``test_chat_provider.py``.
"""

from __future__ import annotations

import json

import httpx
import pytest

from orchestrator.redaction import Redactor, display_url
from orchestrator.server.providers.base import (
    ChatMessage,
    ModelRequest,
    ToolCall,
    ToolCallDelta,
    ToolDef,
)
from orchestrator.server.providers.chat_errors import (
    classify_status,
    classify_transport,
    parse_retry_after,
    upstream_message,
)
from orchestrator.server.providers.chat_mapping import (
    CODE_INTERPRETER_PARAMETERS,
    FILE_SEARCH_PARAMETERS,
    ToolCallAssembler,
    WireNames,
    build_payload,
    describe_attachments,
    upstream_model,
    wire_names,
)

QUIZ_PARAMS = {"type": "object", "properties": {"title": {"type": "string"}}}


def request(**kw) -> ModelRequest:  # type: ignore[no-untyped-def]
    kw.setdefault("model", "gpt-4o")
    kw.setdefault("messages", [ChatMessage(role="user", content="hi")])
    return ModelRequest(**kw)


def test_builtins_get_their_natural_names_when_free() -> None:
    names = wire_names(request(tools=[ToolDef(type="function", name="display_quiz")]))
    assert names == WireNames("file_search", "code_interpreter")


def test_builtin_names_never_clash_with_user_functions() -> None:
    taken = ["file_search", "builtin_file_search", "code_interpreter"]
    req = request(tools=[ToolDef(type="function", name=n) for n in taken])
    names = wire_names(req)
    assert names.file_search == "builtin_file_search_2"
    assert names.code_interpreter == "builtin_code_interpreter"
    # Earlier calls to user functions count too (tools can change between runs).
    req = request(
        messages=[
            ChatMessage(
                role="assistant",
                tool_calls=[ToolCall("call_1", "function", "code_interpreter", "{}")],
            )
        ]
    )
    assert wire_names(req).code_interpreter == "builtin_code_interpreter"


def test_payload_maps_every_part_of_the_request() -> None:
    req = request(
        messages=[
            ChatMessage(role="system", content="You are a tutor."),
            ChatMessage(role="system", content="Address the user as Jane."),
            ChatMessage(
                role="user",
                content="Plot it",
                attachments=[
                    {
                        "file_id": "file-1",
                        "filename": "data.csv",
                        "tools": [{"type": "code_interpreter"}],
                    },
                    {"file_id": "file-2", "tools": [{"type": "file_search"}]},
                ],
            ),
            ChatMessage(
                role="assistant",
                tool_calls=[
                    ToolCall("call_up1", "code_interpreter", "code_interpreter", '{"code": "1"}'),
                    ToolCall("call_up2", "function", "display_quiz", '{"title": "T"}'),
                ],
            ),
            ChatMessage(role="tool", tool_call_id="call_up1", content="1"),
            ChatMessage(role="tool", tool_call_id="call_up2", content="ok"),
        ],
        tools=[
            ToolDef(type="code_interpreter", name="code_interpreter"),
            ToolDef(type="file_search", name="file_search"),
            ToolDef(type="function", name="display_quiz", parameters=QUIZ_PARAMS, strict=True),
            ToolDef(type="function", name="ping"),
        ],
        tool_choice={"type": "code_interpreter"},
        parallel_tool_calls=False,
        temperature=0.2,
        top_p=0.5,
        response_format={"type": "json_object"},
        max_completion_tokens=100,
    )
    p = build_payload(req, "qwen2.5", wire_names(req))
    assert p["model"] == "qwen2.5"
    system = p["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You are a tutor.\n\nAddress the user as Jane.")
    assert "exactly as it appears in the tool output" in system["content"]
    assert [m["role"] for m in p["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    assert p["messages"][1]["content"] == (
        "Plot it\n\n[attached: data.csv (code_interpreter), file-2 (file_search)]"
    )
    assert p["messages"][2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_up1",
                "type": "function",
                "function": {"name": "code_interpreter", "arguments": '{"code": "1"}'},
            },
            {
                "id": "call_up2",
                "type": "function",
                "function": {"name": "display_quiz", "arguments": '{"title": "T"}'},
            },
        ],
    }
    assert p["messages"][3] == {"role": "tool", "tool_call_id": "call_up1", "content": "1"}
    fns = [t["function"] for t in p["tools"]]
    assert [f["name"] for f in fns] == ["code_interpreter", "file_search", "display_quiz", "ping"]
    assert fns[0]["parameters"] == CODE_INTERPRETER_PARAMETERS
    assert fns[1]["parameters"] == FILE_SEARCH_PARAMETERS
    assert fns[2] == {"name": "display_quiz", "parameters": QUIZ_PARAMS, "strict": True}
    assert fns[3]["parameters"] == {"type": "object", "properties": {}}
    assert p["tool_choice"] == {"type": "function", "function": {"name": "code_interpreter"}}
    assert p["parallel_tool_calls"] is False
    assert (p["temperature"], p["top_p"]) == (0.2, 0.5)
    assert p["response_format"] == {"type": "json_object"}
    assert p["max_completion_tokens"] == p["max_tokens"] == 100
    assert p["stream"] is True and p["stream_options"] == {"include_usage": True}
    json.dumps(p)  # Plain JSON all the way down.


def test_payload_omits_what_the_upstream_need_not_see() -> None:
    p = build_payload(request(response_format="auto"), "m", wire_names(request()))
    for key in ("tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p"):
        assert key not in p
    assert "response_format" not in p and "max_tokens" not in p
    assert p["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "file_search"}, {"type": "function", "function": {"name": "file_search"}}),
        (
            {"type": "function", "function": {"name": "display_quiz"}},
            {"type": "function", "function": {"name": "display_quiz"}},
        ),
    ],
)
def test_tool_choice_mapping(choice, wire) -> None:  # type: ignore[no-untyped-def]
    req = request(
        tools=[
            ToolDef(type="file_search", name="file_search"),
            ToolDef("function", "display_quiz"),
        ],
        tool_choice=choice,
    )
    assert build_payload(req, "m", wire_names(req))["tool_choice"] == wire


def test_model_map() -> None:
    assert upstream_model("gpt-4o", {"gpt-4o": "qwen2.5:7b"}) == "qwen2.5:7b"
    assert upstream_model("gpt-4o-mini", {"gpt-4o": "qwen2.5:7b"}) == "gpt-4o-mini"
    assert upstream_model("gpt-4o-mini", {"*": "llama3.1"}) == "llama3.1"


def test_describe_attachments_without_names() -> None:
    assert describe_attachments([]) == ""
    assert describe_attachments([{"file_id": "file-9"}]) == "[attached: file-9]"


def test_assembler_keeps_upstream_ids_and_maps_builtins_back() -> None:
    names = WireNames("builtin_file_search", "code_interpreter")
    asm = ToolCallAssembler(names, {"file_search", "code_interpreter", "function"})
    pieces = [
        {"index": 0, "id": "call_A", "function": {"name": "builtin_file_search", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"query":'}},
        {"index": 0, "function": {"arguments": ' "refunds"}'}},
        {"index": 1, "id": "call_B", "function": {"name": "file_search", "arguments": "{}"}},
        # An upstream that sends a whole call at once, index reused, new id.
        {
            "index": 1,
            "id": "call_C",
            "function": {"name": "code_interpreter", "arguments": {"code": "1"}},
        },
    ]
    deltas = [d for p in pieces if (d := asm.feed(p))]
    assert deltas[0] == ToolCallDelta(0, "call_A", "file_search", "file_search", "")
    assert deltas[1:3] == [
        ToolCallDelta(0, arguments='{"query":'),
        ToolCallDelta(0, arguments=' "refunds"}'),
    ]
    assert deltas[3] == ToolCallDelta(1, "call_B", "function", "file_search", "{}")
    assert deltas[4] == ToolCallDelta(
        2, "call_C", "code_interpreter", "code_interpreter", '{"code": "1"}'
    )
    assert asm.calls() == [
        ToolCall("call_A", "file_search", "file_search", '{"query": "refunds"}'),
        ToolCall("call_B", "function", "file_search", "{}"),
        ToolCall("call_C", "code_interpreter", "code_interpreter", '{"code": "1"}'),
    ]


def test_assembler_waits_for_the_name_and_makes_up_missing_ids() -> None:
    asm = ToolCallAssembler(WireNames("file_search", "code_interpreter"), {"function"})
    assert asm.feed({"index": 0, "function": {"arguments": '{"a"'}}) is None
    assert asm.unnamed()
    first = asm.feed({"index": 0, "function": {"name": "f", "arguments": ": 1}"}})
    assert first is not None and first.id and first.id.startswith("call_")
    assert (first.type, first.name, first.arguments) == ("function", "f", '{"a": 1}')
    # Not offered as a built-in: a call to "file_search" is a plain function call.
    second = asm.feed({"id": "call_x", "function": {"name": "file_search"}})
    assert second is not None and second.type == "function" and second.index == 1
    assert asm.calls()[1].arguments == "{}"
    assert not asm.unnamed()


def test_retry_after_forms() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "2"})) == 2.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert parse_retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers()) is None


@pytest.mark.parametrize(
    ("body", "said", "code"),
    [
        (b'{"error": {"message": "m1", "code": "c1"}}', "m1", "c1"),
        (b'{"error": "model \'x\' not found"}', "model 'x' not found", None),  # Ollama
        (
            b'{"object": "error", "message": "too long", "type": "BadRequestError"}',
            "too long",
            "BadRequestError",
        ),  # vLLM
        (b'{"detail": "Not Found"}', "Not Found", None),
        (b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>", None),
        (b"", "no message", None),
    ],
)
def test_upstream_message_shapes(body: bytes, said: str, code: str | None) -> None:
    assert upstream_message(body) == (said, code)


def test_status_meanings() -> None:
    h = httpx.Headers()
    kw = {"url": "http://u/v1/chat/completions", "model": "m"}
    assert classify_status(429, h, b"", **kw).code == "rate_limit_exceeded"
    assert classify_status(429, h, b"", **kw).retryable
    assert classify_status(502, h, b"", **kw).code == "server_error"
    assert classify_status(502, h, b"", **kw).retryable
    bad = classify_status(400, h, b'{"error": {"message": "bad temperature"}}', **kw)
    assert bad.code == "invalid_prompt" and not bad.retryable
    long = classify_status(
        400, h, b'{"error": {"message": "x", "code": "context_length_exceeded"}}', **kw
    )
    assert "truncation_strategy" in long.message
    missing = classify_status(404, h, b'{"error": "model \'m\' not found"}', **kw)
    assert missing.code == "server_error" and "--model-map" in missing.message
    assert not classify_status(401, h, b"", **kw).retryable
    moved = classify_status(
        308, httpx.Headers({"location": "https://x:pw@new/v1/chat/completions"}), b"", **kw
    )
    assert not moved.retryable and "https://new/v1/chat/completions" in moved.message
    assert "pw" not in moved.message
    timeout = classify_transport(httpx.ReadTimeout("t"), url="http://u", timeout=2)
    assert timeout.retryable and "within 2 s" in timeout.message
    refused = classify_transport(httpx.ConnectError("refused"), url="http://u", timeout=2)
    assert refused.retryable and "unreachable" in refused.message


def test_redaction_and_display_url() -> None:
    redact = Redactor("sk-live-abcdef123456", None)
    text = "key sk-live-abcdef123456 and sk-proj-****1234 sent as Bearer sk-live-abcdef123456"
    out = redact(text)
    assert "abcdef123456" not in out and "1234" not in out
    assert display_url("https://user:pw@api.example.com:8443/v1/chat/completions?api-key=s") == (
        "https://api.example.com:8443/v1/chat/completions"
    )


@pytest.mark.parametrize(
    ("said", "dropped"),
    [
        # OpenAI, both length caps sent: keep the current one.
        (
            "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.",
            "max_tokens",
        ),
        # OpenAI reasoning models.
        (
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            "max_tokens",
        ),
        # An older server that knows only max_tokens.
        ("Unrecognized request argument supplied: max_completion_tokens", "max_completion_tokens"),
        ("stream_options: Extra inputs are not permitted", "stream_options"),
        ("parallel_tool_calls is not supported by this model", "parallel_tool_calls"),
        # A bad value is the caller's to fix, not a parameter to drop.
        ("max_tokens must be at most 4096", None),
        ("temperature: unsupported value", None),
    ],
)
def test_rejected_optional_parameters_are_dropped(said: str, dropped: str | None) -> None:
    from orchestrator.server.config import ServerConfig, UpstreamConfig
    from orchestrator.server.providers.chat import ChatModel

    model = ChatModel(ServerConfig(upstream=UpstreamConfig(base_url="http://u/v1")))
    payload = {
        "stream_options": {},
        "max_tokens": 5,
        "max_completion_tokens": 5,
        "parallel_tool_calls": True,
        "temperature": 0.2,
    }
    assert model._drop_rejected(payload, said) is (dropped is not None)
    if dropped:
        assert dropped not in payload and model.dropped == {dropped}
        assert "max_tokens" in payload or "max_completion_tokens" in payload
    assert "temperature" in payload
