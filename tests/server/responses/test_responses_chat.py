"""The chat provider behind the Responses API: one embedded server (the local model)
as the upstream of another (``--model-provider chat``); the same flows as with the
local model — plain turn, function round trip, file search with a citation, code
interpreter, streaming — over the real SDK, every body checked against the spec."""

from __future__ import annotations

import io
import json
import secrets

import openai
import pytest

from orchestrator.testing import ServerProcess
from tests.support.tool_defs import DISPLAY_QUIZ

UPSTREAM_KEY = "sk-upstream-" + secrets.token_hex(8)
QUIZ = {"type": "function", **DISPLAY_QUIZ}


@pytest.fixture(scope="module")
def chat_server(server_factory) -> ServerProcess:
    upstream = server_factory(persistent=False, api_key=UPSTREAM_KEY)
    return server_factory(
        "--model-provider",
        "chat",
        "--upstream-base-url",
        upstream.base_url,
        "--upstream-timeout",
        "60",
        persistent=False,
        env={"ORCHESTRATOR_UPSTREAM_API_KEY": UPSTREAM_KEY},
    )


@pytest.fixture
def chat(chat_server: ServerProcess, spec_checker) -> openai.OpenAI:
    return chat_server.client(spec_checker)


def test_plain_turn_and_previous_response(chat: openai.OpenAI) -> None:
    first = chat.responses.create(model="gpt-4o", input="안녕")
    assert first.status == "completed" and first.output_text.endswith("You said: 안녕")
    second = chat.responses.create(model="gpt-4o", input="다시", previous_response_id=first.id)
    assert second.output_text.endswith("You said: 다시")
    assert second.usage.input_tokens > first.usage.input_tokens


def test_function_round_trip(chat: openai.OpenAI) -> None:
    asked = chat.responses.create(model="gpt-4o", input="display_quiz please", tools=[QUIZ])
    [call] = asked.output
    assert call.type == "function_call" and call.name == "display_quiz"
    assert set(DISPLAY_QUIZ["parameters"]["required"]) <= set(json.loads(call.arguments))
    answered = chat.responses.create(
        model="gpt-4o",
        previous_response_id=asked.id,
        tools=[QUIZ],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "shown"}],
    )
    assert answered.output_text == "display_quiz returned: shown"


def test_file_search_citation(chat: openai.OpenAI) -> None:
    vs = chat.vector_stores.create(name="chat-docs")
    chat.vector_stores.files.upload_and_poll(
        vector_store_id=vs.id,
        file=("policy.md", io.BytesIO(b"Refunds are possible within 30 days of purchase.")),
    )
    response = chat.responses.create(
        model="gpt-4o",
        input="How long do refunds take?",
        tools=[{"type": "file_search", "vector_store_ids": [vs.id]}],
    )
    search, message = response.output
    assert search.type == "file_search_call" and search.status == "completed"
    [citation] = message.content[0].annotations
    assert citation.type == "file_citation" and citation.filename == "policy.md"


def test_code_interpreter_and_streaming(chat: openai.OpenAI) -> None:
    with chat.responses.stream(
        model="gpt-4o",
        input="```python\nprint(6 * 7)\n```",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
    ) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert "response.code_interpreter_call.completed" in types
    assert types[-1] == "response.completed"
    assert final.output[0].type == "code_interpreter_call"
    assert "42" in final.output_text
