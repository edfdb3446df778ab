"""Tool calls written as text (``tool_call_format: json-in-text | auto``).

The recorded cases are SmolLM2-135M's real answers through llama.cpp's server to the
requests the chat provider builds (``scripts/record_text_tool_calls.py`` recorded them;
``data/smollm2_text_tool_calls.json``). Each is replayed delta by delta through the same
hold-and-parse path the provider uses, and must give the outcome named here: a call
only when the text is a call of an offered function with schema-valid arguments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.server.providers.base import ChatMessage, ModelRequest, ToolCall, ToolDef
from orchestrator.server.providers.chat_mapping import build_payload, wire_names
from orchestrator.server.providers.chat_text_tools import (
    EXAMPLE_REQUEST,
    TextCall,
    TextHold,
    parse_text_calls,
    tools_in_text,
)
from tests.support.tool_defs import GET_WEATHER

RECORDED = json.loads(
    (Path(__file__).parent / "data/smollm2_text_tool_calls.json").read_text(encoding="utf-8")
)
WEATHER = {GET_WEATHER["name"]: GET_WEATHER["parameters"]}


def replay(case: dict[str, Any]) -> tuple[list[str], str, list[TextCall] | None]:
    """The recorded SSE through TextHold and the parser: (streamed pieces, reply, calls)."""
    functions = {f["name"]: f["parameters"] for f in case["functions"]}
    hold = TextHold()
    streamed: list[str] = []
    whole: list[str] = []
    for data in case["sse"]:
        if data == "[DONE]":
            break
        for choice in json.loads(data).get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                whole.append(content)
                if passed := hold.feed(content):
                    streamed.append(passed)
    held = hold.take()
    calls = parse_text_calls(held, functions) if held else None
    return streamed, "".join(whole), calls


@pytest.mark.parametrize("case", ["weather_seoul", "weather_oslo"])
def test_a_recorded_well_formed_call_becomes_a_tool_call(case: str) -> None:
    streamed, reply, calls = replay(RECORDED["cases"][case])
    assert reply.lstrip().startswith("{")
    assert streamed == []  # held back: nothing of the call leaked out as text
    assert calls is not None and [c.name for c in calls] == ["get_weather"]
    assert set(json.loads(calls[0].arguments)) == {"location"}


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("weather_paris", "names a function that is not offered"),
        ("quiz", "arguments that are not display_quiz's (cut off at the token cap)"),
    ],
)
def test_recorded_json_that_is_not_a_valid_call_stays_the_reply(case: str, why: str) -> None:
    streamed, reply, calls = replay(RECORDED["cases"][case])
    assert reply.lstrip().startswith("{"), why
    assert calls is None, why
    assert streamed == []  # released whole at the end, as the model wrote it


def test_recorded_prose_streams_as_it_comes() -> None:
    streamed, reply, calls = replay(RECORDED["cases"]["arithmetic"])
    assert calls is None
    assert "".join(streamed) == reply and len(streamed) > 1


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}',
        '  <tool_call>{"name": "get_weather", "arguments": {"location": "Paris", '
        '"unit": "celsius"}}</tool_call>\n',
        '```json\n{"name": "get_weather", "parameters": {"location": "Paris", "unit": '
        '"celsius"}}\n```',
        '[{"type": "function", "function": {"name": "get_weather", "arguments": '
        '"{\\"location\\": \\"Paris\\", \\"unit\\": \\"celsius\\"}"}}]',
    ],
)
def test_the_accepted_shapes(text: str) -> None:
    assert parse_text_calls(text, WEATHER) == [
        TextCall("get_weather", '{"location": "Paris", "unit": "celsius"}')
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Sure! " + '{"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}',
        '{"name": "get_weather", "arguments": {"location": "Paris"}}',  # unit is required
        '{"name": "get_weather", "arguments": {"location": "Paris", "unit": "kelvin"}}',
        '{"name": "get_time", "arguments": {}}',
        '{"name": "get_weather", "description": "x", "parameters": {"type": "object"}}',
        '<tool_call>{"name": "get_weather"</tool_call>',
        '<tool_call>{"name": "get_weather", "arguments": {"location": "P", "unit": "celsius"}}'
        "</tool_call> and some words",
        "```\nprint(1)\n```",
        "[1, 2]",
    ],
)
def test_anything_else_is_a_reply(text: str) -> None:
    assert parse_text_calls(text, WEATHER) is None


def test_the_request_describes_the_tools_and_rewrites_earlier_calls() -> None:
    weather = ToolDef(
        "function", GET_WEATHER["name"], GET_WEATHER["description"], GET_WEATHER["parameters"]
    )
    call = ToolCall("call_1", "function", "get_weather", '{"location": "Oslo", "unit": "celsius"}')
    request = ModelRequest(
        model="m",
        messages=[
            ChatMessage("system", "Be brief."),
            ChatMessage("user", "Weather in Oslo?"),
            ChatMessage("assistant", "", tool_calls=[call]),
            ChatMessage("tool", '{"temp": 3}', tool_call_id="call_1"),
        ],
        tools=[weather, ToolDef("file_search", "file_search")],
        tool_choice="required",
    )
    payload = tools_in_text(build_payload(request, "m", wire_names(request)))
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(payload)
    messages = payload["messages"]
    system = messages[0]["content"]
    assert system.startswith("Be brief.")
    assert '"name": "get_weather"' in system and '"name": "file_search"' in system
    assert "Call one of the tools now." in system
    # The example exchange, then the conversation with calls and results as text.
    assert messages[1] == {"role": "user", "content": EXAMPLE_REQUEST}
    example = parse_text_calls(messages[2]["content"], WEATHER)
    assert example is not None and example[0].name == "get_weather"
    assert messages[3] == {"role": "user", "content": "Weather in Oslo?"}
    assert json.loads(messages[4]["content"]) == {
        "name": "get_weather",
        "arguments": {"location": "Oslo", "unit": "celsius"},
    }
    assert messages[5] == {"role": "user", "content": 'Tool result of get_weather:\n{"temp": 3}'}


def test_tool_choice_none_sends_no_tool_text() -> None:
    weather = ToolDef("function", "get_weather", "", GET_WEATHER["parameters"])
    request = ModelRequest(
        model="m", messages=[ChatMessage("user", "hi")], tools=[weather], tool_choice="none"
    )
    payload = tools_in_text(build_payload(request, "m", wire_names(request)))
    assert payload["messages"] == [{"role": "user", "content": "hi"}]
    assert "tools" not in payload
