"""The Responses API with the local model: the real openai SDK over real HTTP, every
body (and every streamed event) checked against OpenAI's pinned spec."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from pydantic import BaseModel

from tests.support import API_KEY
from tests.support.runs import script
from tests.support.tool_defs import DISPLAY_QUIZ
from tests.support.waiting import wait_for

QUIZ = {"type": "function", **DISPLAY_QUIZ}


def raw_events(server, spec_checker, body: dict) -> list[dict]:
    """A streamed create read as raw SSE text, every event checked against the spec."""
    with httpx.stream(
        "POST",
        f"{server.base_url}/responses",
        json={**body, "stream": True},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    events = spec_checker.check_stream_text(text)
    assert events and spec_checker.violations == []
    return events


def test_plain_turn_is_stored_and_retrievable(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="local", input="안녕하세요", instructions="Answer briefly.", metadata={"k": "v"}
    )
    assert response.id.startswith("resp_") and response.status == "completed"
    assert response.output_text == "[local model] You said: 안녕하세요"
    message = response.output[0]
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].annotations == []
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.instructions == "Answer briefly." and response.metadata == {"k": "v"}
    assert response.completed_at is not None and response.error is None
    assert client.responses.retrieve(response.id).model_dump() == response.model_dump()

    items = client.responses.input_items.list(response.id).data
    assert len(items) == 1 and items[0].role == "user"
    assert items[0].content[0].text == "안녕하세요"

    deleted = client.responses.delete(response.id)
    assert deleted is None  # the SDK returns nothing for a delete
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.retrieve(response.id)
    assert response.id in err.value.message


def test_multi_turn_by_previous_response_id(client: openai.OpenAI) -> None:
    first = client.responses.create(model="local", input="첫 번째")
    second = client.responses.create(model="local", input="두 번째", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert second.output_text == "[local model] You said: 두 번째"
    # The chain is the context: the second request counted the first turn's tokens too.
    assert second.usage.input_tokens > first.usage.input_tokens
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="local", input="x", previous_response_id="resp_missing")
    assert err.value.body["param"] == "previous_response_id"
    assert "resp_missing" in err.value.message


def test_multi_turn_by_conversation_appends_items(client: openai.OpenAI) -> None:
    conv = client.conversations.create(items=[{"role": "user", "content": "기억해: 42"}])
    one = client.responses.create(model="local", input="첫 질문", conversation=conv.id)
    assert one.conversation.id == conv.id
    two = client.responses.create(model="local", input="둘째 질문", conversation={"id": conv.id})
    items = client.conversations.items.list(conv.id, order="asc").data
    texts = [(i.role, i.content[0].text) for i in items]
    assert texts == [
        ("user", "기억해: 42"),
        ("user", "첫 질문"),
        ("assistant", one.output_text),
        ("user", "둘째 질문"),
        ("assistant", two.output_text),
    ]
    assert items[2].id == one.output[0].id  # the conversation holds the output items
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(
            model="local", input="x", conversation=conv.id, previous_response_id=one.id
        )
    assert "Mutually exclusive" in err.value.message


def test_display_quiz_function_round_trip(client: openai.OpenAI) -> None:
    asked = client.responses.create(
        model="local", input="display_quiz로 수학 퀴즈를 보여줘", tools=[QUIZ]
    )
    assert asked.status == "completed"
    [call] = asked.output
    assert call.type == "function_call" and call.name == "display_quiz"
    assert call.status == "completed" and call.id.startswith("fc_")
    arguments = json.loads(call.arguments)
    assert set(DISPLAY_QUIZ["parameters"]["required"]) <= set(arguments)

    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(
            model="local", previous_response_id=asked.id, input="no outputs", tools=[QUIZ]
        )
    assert err.value.message.endswith(f"No tool output found for function call {call.call_id}.")
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(
            model="local",
            previous_response_id=asked.id,
            tools=[QUIZ],
            input=[{"type": "function_call_output", "call_id": "call_nope", "output": "x"}],
        )
    assert "No tool call found for function call output with call_id call_nope" in (
        err.value.message
    )

    answered = client.responses.create(
        model="local",
        previous_response_id=asked.id,
        tools=[QUIZ],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"shown": 1}'}],
    )
    assert answered.output_text == 'display_quiz returned: {"shown": 1}'


def test_store_false_is_not_retrievable(client: openai.OpenAI) -> None:
    response = client.responses.create(model="local", input="비밀", store=False)
    assert response.status == "completed" and response.store is False
    assert response.output_text == "[local model] You said: 비밀"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="local", input="x", previous_response_id=response.id)


def test_background_poll_and_cancel(client: openai.OpenAI) -> None:
    started = client.responses.create(model="local", input="백그라운드", background=True)
    assert started.background is True and started.status in ("queued", "in_progress")
    done = wait_for(
        lambda: (r := client.responses.retrieve(started.id)).status == "completed" and r
    )
    assert done.output_text == "[local model] You said: 백그라운드"
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.cancel(done.id)
    assert "status 'completed'" in err.value.message
    plain = client.responses.create(model="local", input="x")
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.cancel(plain.id)
    assert "synchronous" in err.value.message


def test_background_cancel_while_running(client: openai.OpenAI) -> None:
    # A code cell that sleeps keeps the response in progress until it is cancelled.
    started = client.responses.create(
        model="local",
        input="```python\nimport time\ntime.sleep(30)\n```",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        background=True,
    )
    wait_for(lambda: client.responses.retrieve(started.id).status == "in_progress")
    cancelled = client.responses.cancel(started.id)
    assert cancelled.status == "cancelled"
    assert client.responses.retrieve(started.id).status == "cancelled"


def test_max_output_tokens_makes_it_incomplete(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="local", input="a long message " * 20, max_output_tokens=16
    )
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage.output_tokens <= 16


class Quiz(BaseModel):
    title: str
    questions: list[str]


def test_parse_with_a_pydantic_text_format(client: openai.OpenAI) -> None:
    parsed = client.responses.parse(model="local", input="퀴즈", text_format=Quiz)
    assert isinstance(parsed.output_parsed, Quiz)
    assert parsed.text.format.type == "json_schema"
    assert json.loads(parsed.output_text) == parsed.output_parsed.model_dump()


def test_stream_accumulates_to_the_retrieved_object(client: openai.OpenAI) -> None:
    with client.responses.stream(model="local", input="스트리밍 테스트") as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert "response.output_text.delta" in types and "response.output_text.done" in types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == final.output_text == "[local model] You said: 스트리밍 테스트"
    retrieved = client.responses.retrieve(final.id).model_dump()
    assert final.model_dump(exclude={"output": {0: {"content": {0: {"parsed"}}}}}) == retrieved


def test_stream_function_call_arguments(client: openai.OpenAI) -> None:
    with client.responses.stream(model="local", input="display_quiz 해줘", tools=[QUIZ]) as s:
        events = list(s)
        final = s.get_final_response()
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert deltas and "".join(d.delta for d in deltas) == done.arguments
    assert final.output[0].arguments == done.arguments
    retrieved = client.responses.retrieve(final.id).model_dump()
    assert final.model_dump(exclude={"output": {0: {"parsed_arguments"}}}) == retrieved


def test_background_stream_resumes_after_a_sequence_number(client: openai.OpenAI) -> None:
    started = client.responses.create(model="local", input="재개", background=True)
    wait_for(lambda: client.responses.retrieve(started.id).status == "completed")
    resumed = client.responses.retrieve(started.id, stream=True, starting_after=2)
    numbers = [e.sequence_number for e in resumed]
    assert numbers and numbers[0] == 3 and numbers == list(range(3, 3 + len(numbers)))


def test_input_tokens_and_unimplemented_endpoints(client: openai.OpenAI) -> None:
    counted = client.responses.input_tokens.count(model="local", input="토큰을 세어줘")
    longer = client.responses.input_tokens.count(
        model="local", input="토큰을 세어줘", instructions="Be precise and thorough."
    )
    assert 0 < counted.input_tokens < longer.input_tokens
    with pytest.raises(openai.APIStatusError) as err:
        client.responses.compact(model="local", input="x")
    assert err.value.status_code == 501
    assert "POST /v1/responses/compact is not implemented" in err.value.message


def test_request_errors_are_named(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="local", input="x", tools=[{"type": "web_search"}])
    assert err.value.body["param"] == "tools[0].type"
    assert "'web_search' is not supported" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(
            model="local",
            input="x",
            tools=[{"type": "file_search", "vector_store_ids": ["vs_missing"]}],
        )
    assert err.value.body["param"] == "tools[0].vector_store_ids[0]"
    assert "vs_missing" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="local", input="x", include=["nope"])  # type: ignore[list-item]
    assert err.value.body["param"] == "include[0]"
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list("resp_missing")


def test_raw_stream_events_conform_to_the_spec(server, spec_checker) -> None:
    events = raw_events(
        server, spec_checker, {"model": "local", "input": "display_quiz 보여줘", "tools": [QUIZ]}
    )
    names = [e["event"] for e in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert [e["data"]["sequence_number"] for e in events] == list(range(len(events)))
    assert "response.function_call_arguments.done" in names


def test_a_script_on_a_conversation_drives_its_responses(server, client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    quiz_args = {"title": "T", "questions": []}
    steps = [
        {"tool_calls": [{"type": "function", "name": "display_quiz", "arguments": quiz_args}]},
        {"reply": "scripted reply"},
    ]
    script(server, conv.id, steps)
    asked = client.responses.create(
        model="local", input="anything", conversation=conv.id, tools=[QUIZ]
    )
    [call] = asked.output
    assert call.name == "display_quiz" and json.loads(call.arguments)["title"] == "T"
    answered = client.responses.create(
        model="local",
        conversation=conv.id,
        tools=[QUIZ],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "ok"}],
    )
    assert answered.output_text == "scripted reply"
