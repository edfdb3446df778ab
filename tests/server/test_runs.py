"""Runs and run steps through the real openai SDK against a real server process.

The local model's documented policy drives the runs: it echoes the last user message,
calls a function tool the message names, runs a fenced code block with code
interpreter, searches attached vector stores, and follows a queued script first.
"""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from tests.support import API_KEY
from tests.support.runs import file_search_assistant, script
from tests.support.tool_defs import QUIZ_TOOL, WEATHER_TOOL


@pytest.fixture(scope="module")
def tutor(server) -> str:
    c = server.client()
    return c.beta.assistants.create(
        model="gpt-4o",
        name="Math Tutor",
        instructions="너는 개인 수학 교사야. 질문에 한 문장 이하로 짧게 답해줘",
    ).id


def test_run_object_and_poll_header(client: openai.OpenAI, tutor: str) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    raw = client.beta.threads.runs.with_raw_response.create(thread_id=thread.id, assistant_id=tutor)
    assert int(raw.headers["openai-poll-after-ms"]) < 1000
    run = raw.parse()
    assert run.id.startswith("run_") and run.object == "thread.run"
    assert run.status == "queued" and run.thread_id == thread.id and run.assistant_id == tutor
    assert run.instructions.startswith("너는 개인 수학 교사야")
    assert run.model == "gpt-4o" and run.tools == []
    assert run.expires_at == run.created_at + 600
    assert run.truncation_strategy.type == "auto" and run.tool_choice == "auto"
    assert run.parallel_tool_calls is True and run.usage is None
    done = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert done.status == "completed"
    assert done.started_at is not None and done.completed_at >= done.started_at
    assert done.expires_at is None and done.last_error is None
    assert done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    raw = client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id)
    assert "openai-poll-after-ms" in raw.headers
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
    assert [s.type for s in steps] == ["message_creation"]
    step = steps[0]
    assert step.status == "completed"
    assert step.usage.model_dump() == done.usage.model_dump()
    assert step.id.startswith("step_")
    reply = client.beta.threads.messages.retrieve(
        step.step_details.message_creation.message_id, thread_id=thread.id
    )
    assert reply.role == "assistant" and reply.run_id == run.id and reply.assistant_id == tutor
    assert reply.status == "completed" and reply.content[0].text.value.endswith("hello")
    assert (
        client.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id) == step
    )


def test_overrides_reach_the_run_and_the_model(client: openai.OpenAI, tutor: str) -> None:
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=tutor,
        model="gpt-4o-mini",
        instructions="Answer in JSON.",
        additional_instructions="Be brief.",
        additional_messages=[{"role": "user", "content": "what is 2+2?"}],
        temperature=0.2,
        top_p=0.5,
        response_format={"type": "json_object"},
        metadata={"case": "overrides"},
        truncation_strategy={"type": "last_messages", "last_messages": 3},
        max_prompt_tokens=5000,
        max_completion_tokens=3000,
    )
    assert run.status == "completed"
    assert run.model == "gpt-4o-mini"
    assert run.instructions == "Answer in JSON.\n\nBe brief."
    assert (run.temperature, run.top_p) == (0.2, 0.5)
    assert run.response_format.type == "json_object"
    assert run.metadata == {"case": "overrides"}
    assert run.truncation_strategy.type == "last_messages"
    assert run.truncation_strategy.last_messages == 3
    assert (run.max_prompt_tokens, run.max_completion_tokens) == (5000, 3000)
    messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content[0].text.value == "what is 2+2?"
    assert json.loads(messages[1].content[0].text.value)["reply"] == "You said: what is 2+2?"
    changed = client.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"a": "b"})
    assert changed.metadata == {"a": "b"} and changed.status == "completed"


def test_truncation_last_messages_shrinks_the_prompt(client: openai.OpenAI, tutor: str) -> None:
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"message number {i} " * 20} for i in range(6)]
    )
    full = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor)
    short = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=tutor,
        truncation_strategy={"type": "last_messages", "last_messages": 1},
    )
    assert full.status == short.status == "completed"
    assert short.usage.prompt_tokens < full.usage.prompt_tokens / 3
    # auto with a prompt budget drops the oldest messages to fit.
    fitted = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor, max_prompt_tokens=300
    )
    assert fitted.status == "completed"
    assert fitted.usage.prompt_tokens <= 300 < full.usage.prompt_tokens


def test_token_limits_end_incomplete(client: openai.OpenAI, tutor: str) -> None:
    long_text = " ".join(f"word{i}" for i in range(600))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": long_text}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor, max_completion_tokens=256
    )
    assert run.status == "incomplete"
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert run.usage.completion_tokens <= 256
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert reply.status == "incomplete" and reply.incomplete_details.reason == "max_tokens"
    assert reply.incomplete_at is not None
    assert reply.content[0].text.value and len(reply.content[0].text.value) < len(long_text)

    thread = client.beta.threads.create(messages=[{"role": "user", "content": long_text}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor, max_prompt_tokens=256
    )
    assert run.status == "incomplete"
    assert run.incomplete_details.reason == "max_prompt_tokens"
    assert client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data == []


def test_function_call_round_trip_and_active_run_rules(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[QUIZ_TOOL, WEATHER_TOOL])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "Use display_quiz to make a quiz."}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    assert run.required_action.type == "submit_tool_outputs"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["display_quiz"]
    assert calls[0].id.startswith("call_") and calls[0].type == "function"
    args = json.loads(calls[0].function.arguments)
    assert isinstance(args["title"], str) and isinstance(args["questions"], list)
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
    assert len(steps) == 1 and steps[0].type == "tool_calls"
    assert steps[0].status == "in_progress"
    assert steps[0].step_details.tool_calls[0].function.output is None

    # The thread is busy: no new messages or runs (OpenAI's wording).
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content="more")
    assert err.value.body["message"] == (
        f"Can't add messages to {thread.id} while a run {run.id} is active."
    )
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert run.id in err.value.message and "active" in err.value.message

    # Outputs must answer exactly the calls asked for.
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_x", "output": "1"}]
        )
    assert calls[0].id in err.value.message
    assert err.value.body["param"] == "tool_outputs"
    run = client.beta.threads.runs.submit_tool_outputs(
        run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": calls[0].id, "output": json.dumps(["a", "b"])}],
    )
    assert run.status == "queued" and run.required_action is None
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(
        run_id=run.id, thread_id=thread.id, order="asc"
    ).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert steps[0].status == "completed" and steps[0].usage is not None
    assert steps[0].step_details.tool_calls[0].function.output == '["a", "b"]'
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert reply.content[0].text.value == 'display_quiz returned: ["a", "b"]'
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "1"}]
        )
    assert "completed" in err.value.message
    # Free again.
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="thanks")


def test_parallel_calls_and_tool_choice(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[QUIZ_TOOL, WEATHER_TOOL])
    text = "Call get_weather for Seoul, then display_quiz."
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    names = [c.function.name for c in run.required_action.submit_tool_outputs.tool_calls]
    assert names == ["get_weather", "display_quiz"]
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, parallel_tool_calls=False
    )
    assert run.parallel_tool_calls is False
    names = [c.function.name for c in run.required_action.submit_tool_outputs.tool_calls]
    assert names == ["get_weather"]
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert run.tool_choice.function.name == "get_weather"
    assert run.required_action.submit_tool_outputs.tool_calls[0].function.name == "get_weather"
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    # tool_choice "none" with a named function: a plain reply.
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice="none"
    )
    assert run.status == "completed"

    # Runs override the assistant's tools.
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tools=[]
    )
    assert run.status == "completed" and run.tools == []

    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=assistant.id,
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    assert err.value.body["param"] == "tool_choice" and "nope" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, tool_choice={"type": "file_search"}
        )
    assert err.value.body["param"] == "tool_choice"


def test_cancel_a_run_waiting_for_outputs(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[WEATHER_TOOL])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "get_weather in Busan"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    cancelled = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert cancelled.required_action is None and cancelled.usage is not None
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    assert step.status == "cancelled" and step.cancelled_at is not None
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert err.value.body["message"] == "Cannot cancel run with status 'cancelled'."
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "x", "output": "y"}]
        )


def test_model_errors_fail_the_run(server, client: openai.OpenAI, tutor: str) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    script(server, thread.id, [{"tool_calls": [{"name": "launch_rockets", "arguments": {}}]}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor)
    assert run.status == "failed" and run.failed_at is not None
    assert run.last_error.code == "invalid_prompt"
    assert "launch_rockets" in run.last_error.message
    assert run.usage is not None


def test_a_function_asking_for_a_huge_value_fails_the_run(client: openai.OpenAI) -> None:
    hog = {
        "type": "function",
        "function": {
            "name": "hog",
            "parameters": {
                "type": "object",
                "properties": {"blob": {"type": "string", "minLength": 500_000_000}},
                "required": ["blob"],
            },
        },
    }
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[hog])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "call hog"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed" and run.last_error.code == "invalid_prompt"
    assert "'hog'" in run.last_error.message and "minLength 500000000" in run.last_error.message


def test_tool_rounds_are_capped(server, client: openai.OpenAI) -> None:
    assistant = file_search_assistant(client, {}, store_name="empty")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "search"}])
    script(
        server,
        thread.id,
        [{"tool_calls": [{"type": "file_search", "query": f"q{i}"}]} for i in range(12)],
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed"
    assert run.last_error.code == "server_error"
    assert "10 rounds of tool calls" in run.last_error.message
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, limit=100)
    assert len(steps.data) == 10
    assert all(s.status == "completed" for s in steps.data)


def test_file_search_steps_results_and_include(client: openai.OpenAI) -> None:
    pythagoras = (
        b"# Pythagoras\nIn a right triangle the square of the hypotenuse equals the sum "
        b"of the squares of the other two sides.\n"
    )
    assistant = file_search_assistant(
        client,
        {"pythagoras.md": pythagoras},
        store_name="geometry",
        file_search={"max_num_results": 5},
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What does the hypotenuse square equal?"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(
        run_id=run.id, thread_id=thread.id, order="asc"
    ).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "file_search" and call.id.startswith("call_")
    assert call.file_search.ranking_options.ranker == "default_2024_08_21"
    assert call.file_search.ranking_options.score_threshold == 0.0
    results = call.file_search.results
    assert results and results[0].file_name == "pythagoras.md"
    assert 0 < results[0].score <= 1 and results[0].content is None
    full = client.beta.threads.runs.steps.retrieve(
        steps[0].id,
        thread_id=thread.id,
        run_id=run.id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    )
    content = full.step_details.tool_calls[0].file_search.results[0].content
    assert "hypotenuse" in content[0].text and content[0].type == "text"
    listed = client.beta.threads.runs.steps.list(
        run_id=run.id,
        thread_id=thread.id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    ).data
    assert any(
        s.type == "tool_calls" and s.step_details.tool_calls[0].file_search.results[0].content
        for s in listed
    )
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.steps.list(
            run_id=run.id,
            thread_id=thread.id,
            include=["step_details.secret"],  # type: ignore[list-item]
        )
    assert err.value.body["param"] == "include"
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    text = reply.content[0].text
    citations = [a for a in text.annotations if a.type == "file_citation"]
    assert citations
    for a in citations:
        assert text.value[a.start_index : a.end_index] == a.text
        assert a.file_citation.file_id == results[0].file_id


def test_runs_list_retrieve_and_errors(client: openai.OpenAI, tutor: str) -> None:
    thread = client.beta.threads.create()
    ids = []
    for i in range(3):
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=f"q{i}")
        ids.append(
            client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor).id
        )
    page = client.beta.threads.runs.list(thread_id=thread.id, limit=2)
    assert [r.id for r in page.data] == [ids[2], ids[1]] and page.has_more
    assert [r.id for r in client.beta.threads.runs.list(thread_id=thread.id, order="asc")] == ids
    other = client.beta.threads.create()
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.retrieve(ids[0], thread_id=other.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.retrieve("run_missing", thread_id=thread.id)
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_missing")
    assert err.value.body["param"] == "assistant_id"
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=tutor, temperature=3)
    assert err.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=tutor, max_completion_tokens=10
        )
    assert err.value.body["param"] == "max_completion_tokens"
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=tutor,
            truncation_strategy={"type": "last_messages"},
        )
    assert err.value.body["param"] == "truncation_strategy.last_messages"
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.create(thread_id="thread_missing", assistant_id=tutor)
    # Nothing was left behind by the rejected requests.
    assert len(client.beta.threads.runs.list(thread_id=thread.id).data) == 3


def test_create_and_run_with_tool_resources(client: openai.OpenAI) -> None:
    data = client.files.create(file=("numbers.csv", b"n\n1\n2\n3\n"), purpose="assistants")
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={
            "messages": [
                {
                    "role": "user",
                    "content": "```python\nprint(open('numbers.csv').read().split())\n```",
                }
            ],
            "metadata": {"via": "create_and_run"},
        },
        tool_resources={"code_interpreter": {"file_ids": [data.id]}},
    )
    assert run.status == "completed", run.last_error
    thread = client.beta.threads.retrieve(run.thread_id)
    assert thread.metadata == {"via": "create_and_run"}
    steps = client.beta.threads.runs.steps.list(
        run_id=run.id, thread_id=thread.id, order="asc"
    ).data
    code = steps[0].step_details.tool_calls[0].code_interpreter
    assert "numbers.csv" in code.input
    assert code.outputs[0].type == "logs" and "'1', '2', '3'" in code.outputs[0].logs
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.create_and_run(
            assistant_id="asst_missing", thread={"messages": [{"role": "user", "content": "x"}]}
        )


def test_code_images_become_files_and_message_content(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    # A 1x1 PNG written by the code, with no third-party library needed.
    code = (
        "import base64\n"
        "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "nGNgYGBgAAAABQABh6FO1AAAAABJRU5ErkJggg==')\n"
        "open('dot.png', 'wb').write(png)\nprint('saved')\n"
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"```python\n{code}```"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    steps = client.beta.threads.runs.steps.list(
        run_id=run.id, thread_id=thread.id, order="asc"
    ).data
    outputs = steps[0].step_details.tool_calls[0].code_interpreter.outputs
    images = [o for o in outputs if o.type == "image"]
    assert len(images) == 1
    file = client.files.retrieve(images[0].image.file_id)
    assert file.purpose == "assistants_output" and file.filename == "dot.png"
    assert client.files.content(file.id).content.startswith(b"\x89PNG")
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert reply.content[0].type == "image_file"
    assert reply.content[0].image_file.file_id == file.id
    assert reply.content[1].type == "text"


def test_runs_on_deleted_thread_are_gone(client: openai.OpenAI, tutor: str) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "bye"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor)
    client.beta.threads.delete(thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id)


def test_script_extension_endpoints(server, client: openai.OpenAI, tutor: str) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    headers = {"Authorization": f"Bearer {API_KEY}"}
    url = f"{server.base_url}/x-orchestrator/threads/{thread.id}/script"
    r = httpx.post(url, headers=headers, json={"steps": [{"reply": "one"}, {"reply": "two"}]})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "x-orchestrator.script" and body["thread_id"] == thread.id
    assert [s["reply"] for s in body["pending"]] == ["one", "two"]
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor)
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert reply.content[0].text.value == "one"
    assert [s["reply"] for s in httpx.get(url, headers=headers).json()["pending"]] == ["two"]
    r = httpx.post(
        url, headers=headers, json={"steps": [{"reply": "x", "tool_calls": []}], "mode": "replace"}
    )
    assert r.status_code == 200
    r = httpx.post(url, headers=headers, json={"steps": [{}]})
    assert r.status_code == 400 and "steps" in r.json()["error"]["message"]
    assert httpx.delete(url, headers=headers).json()["pending"] == []
    assert httpx.get(url, headers=headers).json()["pending"] == []
    r = httpx.get(f"{server.base_url}/x-orchestrator/threads/thread_nope/script", headers=headers)
    assert r.status_code == 404


def test_expires_at_is_in_the_future(client: openai.OpenAI, tutor: str) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "t"}])
    before = int(time.time())
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=tutor)
    assert before - 1 <= run.created_at <= int(time.time()) + 1
    assert run.expires_at == run.created_at + 600
    client.beta.threads.runs.poll(run.id, thread_id=thread.id)
