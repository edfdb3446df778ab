"""``POST /v1/chat/completions`` over real HTTP with the real openai SDK.

The shared ``server`` process answers with the local model. JSON responses are
checked against the pinned spec by the ``client`` fixture; streams are read raw and
every ``chat.completion.chunk`` is validated against ``CreateChatCompletionStreamResponse``,
with the framing checked line by line (``data:`` lines only, ending ``data: [DONE]``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from orchestrator.server import wire
from orchestrator.testing import ServerProcess
from tests.support import API_KEY
from tests.support.tool_defs import QUIZ_TOOL, WEATHER_TOOL

LONG = (
    "Tell me, in as much detail as you can manage, how the water cycle moves water "
    "between oceans, clouds, rivers and the ground over the course of a year."
)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You are terse."}, {"role": "user", "content": text}]


# -- non-streaming -------------------------------------------------------------------


def test_plain_completion(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o-mini", messages=user("What is 2 + 2?"))
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.model == "gpt-4o-mini"
    (choice,) = r.choices
    assert choice.index == 0 and choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "[local model] You said: What is 2 + 2?"
    assert choice.message.tool_calls is None
    assert r.usage and r.usage.completion_tokens > 0 and r.usage.prompt_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_content_parts_and_developer_messages(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "developer", "content": [{"type": "text", "text": "Be kind."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "first part"},
                    {"type": "text", "text": "second part"},
                ],
            },
        ],
    )
    assert r.choices[0].message.content == "[local model] You said: first part\nsecond part"


def test_function_call_and_round_trip(client: openai.OpenAI) -> None:
    messages = user("Use get_weather for Seoul in celsius")
    r = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Seoul", "unit": "celsius"}
    # Send the result back the way SDK users do: the assistant message, then a tool message.
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'},
    ]
    final = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == 'get_weather returned: {"temp": 21}'


def test_display_quiz_arguments_are_schema_valid(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=user("display_quiz about volcanoes, please"),
        tools=[QUIZ_TOOL, WEATHER_TOOL],
    )
    (call,) = r.choices[0].message.tool_calls or []
    value = json.loads(call.function.arguments)
    jsonschema.validate(value, QUIZ_TOOL["function"]["parameters"])
    assert value["title"] == "Volcanoes"
    assert {q["question_type"] for q in value["questions"]} == {"MULTIPLE_CHOICE", "FREE_RESPONSE"}


def test_parallel_calls_and_parallel_tool_calls_false(client: openai.OpenAI) -> None:
    text = "get_weather for Oslo, then display_quiz"
    r = client.chat.completions.create(
        model="gpt-4o", messages=user(text), tools=[QUIZ_TOOL, WEATHER_TOOL]
    )
    calls = r.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "display_quiz"]
    assert len({c.id for c in calls}) == 2
    one = client.chat.completions.create(
        model="gpt-4o",
        messages=user(text),
        tools=[QUIZ_TOOL, WEATHER_TOOL],
        parallel_tool_calls=False,
    )
    assert [c.function.name for c in one.choices[0].message.tool_calls or []] == ["get_weather"]


def test_tool_choice_forced_required_none_and_allowed_tools(client: openai.OpenAI) -> None:
    def names(**kw: Any) -> list[str]:
        r = client.chat.completions.create(
            model="gpt-4o", messages=user("hello there"), tools=[QUIZ_TOOL, WEATHER_TOOL], **kw
        )
        return [c.function.name for c in r.choices[0].message.tool_calls or []]

    assert names() == []
    assert names(tool_choice={"type": "function", "function": {"name": "get_weather"}}) == [
        "get_weather"
    ]
    assert names(tool_choice="required") == ["display_quiz"]
    allowed = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        },
    }
    assert names(tool_choice=allowed) == ["get_weather"]
    r = client.chat.completions.create(
        model="gpt-4o", messages=user("display_quiz now"), tools=[QUIZ_TOOL], tool_choice="none"
    )
    assert r.choices[0].message.content == "[local model] You said: display_quiz now"


def test_response_formats(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="gpt-4o", messages=user("hi"), response_format={"type": "json_object"}
    )
    assert json.loads(r.choices[0].message.content or "") == {
        "model": "local",
        "reply": "You said: hi",
    }
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "population": {"type": "integer", "minimum": 1000},
        },
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=user("Tell me about Busan"),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": schema, "strict": True},
        },
    )
    value = json.loads(r.choices[0].message.content or "")
    jsonschema.validate(value, schema)
    assert value["city"] == "Busan"


def test_stop_n_and_max_tokens(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="gpt-4o", messages=user("alpha beta gamma"), stop=["beta"]
    )
    assert r.choices[0].message.content == "[local model] You said: alpha "
    assert r.choices[0].finish_reason == "stop"
    two = client.chat.completions.create(model="gpt-4o", messages=user("hi"), n=2)
    assert [c.index for c in two.choices] == [0, 1]
    assert two.choices[0].message.content == two.choices[1].message.content
    short = client.chat.completions.create(
        model="gpt-4o", messages=user(LONG), max_completion_tokens=5
    )
    assert short.choices[0].finish_reason == "length"
    assert short.usage and short.usage.completion_tokens <= 5
    legacy = client.chat.completions.create(model="gpt-4o", messages=user(LONG), max_tokens=5)
    assert legacy.choices[0].message.content == short.choices[0].message.content


def test_same_request_same_answer(client: openai.OpenAI) -> None:
    def ask() -> Any:
        return client.chat.completions.create(
            model="gpt-4o", messages=user("display_quiz on rivers"), tools=[QUIZ_TOOL]
        )

    a, b = ask(), ask()
    assert a.id != b.id  # each completion is its own object...
    ca, cb = a.choices[0].message.tool_calls or [], b.choices[0].message.tool_calls or []
    assert ca[0].function.arguments == cb[0].function.arguments  # ...with the same content
    assert ca[0].id != cb[0].id


@pytest.mark.parametrize(
    ("kwargs", "param", "words"),
    [
        (
            {
                "tool_choice": {"type": "function", "function": {"name": "nope"}},
                "tools": [WEATHER_TOOL],
            },
            "tool_choice",
            "'nope'",
        ),
        ({"tool_choice": "required"}, "tool_choice", "at least one tool"),
        (
            {"tools": [{"type": "custom", "custom": {"name": "grammar"}}]},
            "tools[0].type",
            "function tools only",
        ),
        (
            {"functions": [{"name": "f", "parameters": {"type": "object"}}]},
            "functions",
            "use 'tools'",
        ),
        ({"temperature": 7}, "temperature", "temperature"),
        (
            {"tools": [{"type": "function", "function": {"name": "../../x/authorized_keys"}}]},
            "tools[0].function.name",
            "does not match pattern",
        ),
    ],
)
def test_bad_requests_are_clear_400s(
    client: openai.OpenAI, kwargs: dict[str, Any], param: str, words: str
) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o", messages=user("hi"), **kwargs)
    body = e.value.body
    assert isinstance(body, dict) and body["param"] == param
    assert words in body["message"]


def test_missing_messages_and_bad_key(server: ServerProcess) -> None:
    url = f"{server.base_url}/chat/completions"
    r = httpx.post(url, json={"model": "gpt-4o"}, headers={"authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 400 and "messages" in r.json()["error"]["message"]
    r = httpx.post(
        url,
        json={"model": "gpt-4o", "messages": user("hi")},
        headers={"authorization": "Bearer wrong"},
    )
    assert r.status_code == 401 and "wrong" not in r.text


def test_unsatisfiable_function_schema_is_an_invalid_prompt(client: openai.OpenAI) -> None:
    broken = {
        "type": "function",
        "function": {
            "name": "broken",
            "parameters": {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 1}},
                "required": ["n"],
            },
        },
    }
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o", messages=user("call broken"), tools=[broken])
    assert e.value.code == "invalid_prompt" and "'broken'" in e.value.message


def test_a_function_asking_for_a_huge_value_is_refused_and_the_server_keeps_serving(
    server: ServerProcess, client: openai.OpenAI
) -> None:
    # Once allocated gigabytes on the event loop; now bounded, and generated off the loop.
    hog = {
        "type": "function",
        "function": {
            "name": "hog",
            "parameters": {
                "type": "object",
                "properties": {
                    "rows": {"type": "array", "minItems": 100_000_000},
                    "blob": {"type": "string", "minLength": 500_000_000},
                },
                "required": ["rows", "blob"],
            },
        },
    }
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o", messages=user("call hog"), tools=[hog])
    assert e.value.code == "invalid_prompt" and "'hog'" in e.value.message
    assert "minItems 100000000" in e.value.message
    assert httpx.get(f"{server.root_url}/health").status_code == 200
    r = client.chat.completions.create(model="gpt-4o", messages=user("still there?"))
    assert r.choices[0].message.content == "[local model] You said: still there?"


# -- streaming -----------------------------------------------------------------------


def raw_stream(server: ServerProcess, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST with stream=true; check framing and every chunk against the spec."""
    with httpx.stream(
        "POST",
        f"{server.base_url}/chat/completions",
        json={**body, "stream": True},
        headers={"authorization": f"Bearer {API_KEY}"},
        timeout=30,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    blocks = text.split("\n\n")
    assert blocks[-1] == "" and blocks[-2] == "data: [DONE]", text[-200:]
    validator = wire.validator("CreateChatCompletionStreamResponse")
    chunks = []
    for block in blocks[:-2]:
        assert block.startswith("data: ") and "\n" not in block, f"bad SSE block {block!r}"
        chunk = json.loads(block[6:])
        problems = [e.message for e in validator.iter_errors(chunk)]
        assert not problems, problems
        chunks.append(chunk)
    assert len({c["id"] for c in chunks}) == 1 and len({c["created"] for c in chunks}) == 1
    return chunks


def test_stream_text_in_several_deltas(server: ServerProcess, client: openai.OpenAI) -> None:
    chunks = raw_stream(server, {"model": "gpt-4o", "messages": user(LONG)})
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0]["role"] == "assistant" and deltas[0]["content"] == ""
    pieces = [d["content"] for d in deltas if d.get("content")]
    assert len(pieces) > 10
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and deltas[-1] == {}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert "usage" not in chunks[-1]
    whole = client.chat.completions.create(model="gpt-4o", messages=user(LONG))
    assert "".join(pieces) == whole.choices[0].message.content


def test_stream_include_usage(server: ServerProcess) -> None:
    chunks = raw_stream(
        server,
        {"model": "gpt-4o", "messages": user("hi"), "stream_options": {"include_usage": True}},
    )
    assert all(c["usage"] is None for c in chunks[:-1])
    last = chunks[-1]
    assert last["choices"] == [] and last["usage"]["total_tokens"] > 0


def test_stream_tool_calls(server: ServerProcess) -> None:
    chunks = raw_stream(
        server,
        {
            "model": "gpt-4o",
            "messages": user("display_quiz and get_weather in Rome"),
            "tools": [QUIZ_TOOL, WEATHER_TOOL],
        },
    )
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant" and first["content"] is None
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for piece in chunk["choices"][0]["delta"].get("tool_calls") or []:
            slot = calls.setdefault(piece["index"], {"arguments": ""})
            if "id" in piece:
                assert piece["type"] == "function" and "name" in piece["function"]
                slot.update(id=piece["id"], name=piece["function"]["name"])
            slot["arguments"] += piece["function"].get("arguments", "")
    assert [calls[i]["name"] for i in sorted(calls)] == ["display_quiz", "get_weather"]
    assert json.loads(calls[1]["arguments"]) == {"location": "Rome", "unit": "celsius"}
    jsonschema.validate(json.loads(calls[0]["arguments"]), QUIZ_TOOL["function"]["parameters"])
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_stop_sequence_split_across_deltas(server: ServerProcess) -> None:
    chunks = raw_stream(
        server, {"model": "gpt-4o", "messages": user("one two three four"), "stop": "o thr"}
    )
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "[local model] You said: one tw"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_errors_before_streaming_are_json(server: ServerProcess) -> None:
    r = httpx.post(
        f"{server.base_url}/chat/completions",
        json={
            "model": "m",
            "messages": user("hi"),
            "stream": True,
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "x"}},
        },
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "tool_choice"


def test_sdk_stream_true(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o", messages=user(LONG), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"[local model] You said: {LONG}"
    assert chunks[-1].usage and chunks[-1].usage.completion_tokens > 0


def test_sdk_stream_helper_text_and_tools(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="gpt-4o", messages=user(LONG)) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert kinds.count("content.delta") > 10 and "content.done" in kinds
    assert final.choices[0].message.content == f"[local model] You said: {LONG}"

    with client.chat.completions.stream(
        model="gpt-4o", messages=user("get_weather in Lima"), tools=[WEATHER_TOOL]
    ) as stream:
        done = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    assert [e.name for e in done] == ["get_weather"]
    assert json.loads(done[0].arguments) == {"location": "Lima", "unit": "celsius"}
    assert final.choices[0].finish_reason == "tool_calls"
    # Strict tools parse into the SDK's parsed_arguments too.
    assert final.choices[0].message.tool_calls[0].function.parsed_arguments == {
        "location": "Lima",
        "unit": "celsius",
    }


def test_sdk_parse_with_pydantic_models(client: openai.OpenAI) -> None:
    from pydantic import BaseModel

    class Step(BaseModel):
        explanation: str
        output: str

    class MathReasoning(BaseModel):
        steps: list[Step]
        final_answer: str

    class GetWeather(BaseModel):
        location: str
        days: int

    r = client.chat.completions.parse(
        model="gpt-4o", messages=user("how can I solve 8x + 7 = -23"), response_format=MathReasoning
    )
    parsed = r.choices[0].message.parsed
    assert isinstance(parsed, MathReasoning) and parsed.steps and parsed.final_answer

    r = client.chat.completions.parse(
        model="gpt-4o",
        messages=user("GetWeather for Jeju for 5 days"),
        tools=[openai.pydantic_function_tool(GetWeather)],
    )
    (call,) = r.choices[0].message.tool_calls or []
    assert call.function.parsed_arguments == GetWeather(location="Jeju", days=5)
