"""Streaming runs: raw SSE framing per the spec, and the SDK's streaming helpers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import AssistantEventHandler

from tests.support import API_KEY
from tests.support.runs import file_search_assistant, script
from tests.support.tool_defs import QUIZ_TOOL
from tests.support.wire_check import SpecChecker

HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def post_stream(server, path: str, body: dict[str, Any], checker: SpecChecker) -> list[dict]:
    """POST a streaming request; check the raw text strictly, return the events."""
    with httpx.stream(
        "POST", f"{server.base_url}{path}", headers=HEADERS, json=body, timeout=30
    ) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    assert text.endswith("event: done\ndata: [DONE]\n\n")
    events = checker.check_stream_text(text)
    assert events[-1] == {"event": "done", "data": "[DONE]"}
    return events[:-1]


def stream_run(
    server, thread_id: str, assistant_id: str, checker: SpecChecker, query: str = ""
) -> list[dict]:
    """``POST /threads/{id}/runs`` with ``stream: true``: its events, checked."""
    return post_stream(
        server,
        f"/threads/{thread_id}/runs{query}",
        {"assistant_id": assistant_id, "stream": True},
        checker,
    )


def names(events: list[dict]) -> list[str]:
    return [e["event"] for e in events]


def test_stream_true_is_framed_per_spec(server, client: openai.OpenAI, spec_checker) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", name="stream")
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "한 줄로 말해줘: 스트리밍이 잘 되나요?"}]
    )
    events = stream_run(server, thread.id, assistant.id, spec_checker)
    deltas = [e for e in events if e["event"] == "thread.message.delta"]
    assert len(deltas) > 1  # streamed word by word, not in one piece
    flow = [n for n in names(events) if n != "thread.message.delta"]
    assert flow == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    final = next(e["data"] for e in events if e["event"] == "thread.message.completed")
    streamed = "".join(d["data"]["delta"]["content"][0]["text"]["value"] for d in deltas)
    assert streamed == final["content"][0]["text"]["value"]
    assert final["content"][0]["text"]["value"].endswith("스트리밍이 잘 되나요?")
    run = events[-1]["data"]
    assert run["status"] == "completed" and run["usage"]["total_tokens"] > 0
    # What was streamed is what polling reads.
    assert client.beta.threads.runs.retrieve(run["id"], thread_id=thread.id).status == "completed"
    created = next(e["data"] for e in events if e["event"] == "thread.message.created")
    assert created["status"] == "in_progress" and created["content"] == []


def test_stream_stops_at_requires_action_and_submit_continues(
    server, client: openai.OpenAI, spec_checker
) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[QUIZ_TOOL])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "display_quiz with two questions"}]
    )
    events = stream_run(server, thread.id, assistant.id, spec_checker)
    assert names(events)[-1] == "thread.run.requires_action"
    run = events[-1]["data"]
    call = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]
    step_deltas = [e["data"] for e in events if e["event"] == "thread.run.step.delta"]
    first = step_deltas[0]["delta"]["step_details"]["tool_calls"][0]
    assert first["id"] == call["id"] and first["function"]["name"] == "display_quiz"
    args = "".join(
        d["delta"]["step_details"]["tool_calls"][0]["function"].get("arguments", "")
        for d in step_deltas
    )
    assert json.loads(args) == json.loads(call["function"]["arguments"])

    more = post_stream(
        server,
        f"/threads/{thread.id}/runs/{run['id']}/submit_tool_outputs",
        {"tool_outputs": [{"tool_call_id": call["id"], "output": '["a"]'}], "stream": True},
        spec_checker,
    )
    flow = [n for n in names(more) if n != "thread.message.delta"]
    assert flow[:3] == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress"]
    assert flow[-1] == "thread.run.completed"
    done_step = more[0]["data"]
    assert done_step["step_details"]["tool_calls"][0]["function"]["output"] == '["a"]'
    assert "thread.run.created" not in flow  # only what happened after the submit


def test_create_and_run_stream_starts_with_the_thread(
    server, client: openai.OpenAI, spec_checker
) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    events = post_stream(
        server,
        "/threads/runs",
        {
            "assistant_id": assistant.id,
            "thread": {"messages": [{"role": "user", "content": "hi"}]},
            "stream": True,
        },
        spec_checker,
    )
    assert names(events)[:3] == ["thread.created", "thread.run.created", "thread.run.queued"]
    thread = events[0]["data"]
    assert events[1]["data"]["thread_id"] == thread["id"]
    assert names(events)[-1] == "thread.run.completed"


def test_failed_run_stream_ends_with_the_failure(
    server, client: openai.OpenAI, spec_checker
) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    script(server, thread.id, [{"tool_calls": [{"name": "missing_fn", "arguments": {}}]}])
    events = stream_run(server, thread.id, assistant.id, spec_checker)
    assert names(events)[-1] == "thread.run.failed"
    assert events[-1]["data"]["last_error"]["code"] == "invalid_prompt"


class Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    def on_text_created(self, text) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("text_created", text.value))

    def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("text_delta", delta.value))

    def on_text_done(self, text) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("text_done", text.value))

    def on_tool_call_created(self, tool_call) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("tool_call_created", tool_call.type))

    def on_tool_call_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        if delta.type == "code_interpreter" and delta.code_interpreter:
            if delta.code_interpreter.input:
                self.calls.append(("code_input", delta.code_interpreter.input))
            for output in delta.code_interpreter.outputs or []:
                if output.type == "logs":
                    self.calls.append(("code_logs", output.logs))

    def on_tool_call_done(self, tool_call) -> None:  # type: ignore[no-untyped-def]
        self.calls.append(("tool_call_done", tool_call.type))

    def of(self, kind: str) -> list[Any]:
        return [v for k, v in self.calls if k == kind]


def test_event_handler_sees_code_and_text(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        name="Math Tutor",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="Solve 3x + 11 = 14:\n```python\nprint((14 - 11) / 3)\n```",
    )
    handler = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        stream.until_done()
    assert handler.of("tool_call_created") == ["code_interpreter"]
    assert handler.of("code_input") == ["print((14 - 11) / 3)\n"]
    assert handler.of("code_logs") == ["1.0\n"]
    # (The SDK repeats on_tool_call_done at every later step/run end; the first counts.)
    assert handler.of("tool_call_done")[0] == "code_interpreter"
    text = "".join(handler.of("text_delta"))
    assert "1.0" in text
    assert handler.of("text_done") == [text]
    run = handler.get_final_run()
    assert run.status == "completed"
    messages = handler.get_final_messages()
    assert messages[-1].content[0].text.value == text
    steps = handler.get_final_run_steps()
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    code = steps[0].step_details.tool_calls[0].code_interpreter
    assert code.input == "print((14 - 11) / 3)\n" and code.outputs[0].logs == "1.0\n"


def test_sdk_submit_tool_outputs_stream(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[QUIZ_TOOL])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "Make a quiz with display_quiz"}]
    )
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
        s.until_done()
        run = s.get_final_run()
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    handler = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": '["I don\'t know.", "a"]'}],
        event_handler=handler,
    ) as stream:
        stream.until_done()
    assert handler.get_final_run().status == "completed"
    assert "display_quiz returned" in "".join(handler.of("text_delta"))


def test_sdk_create_and_run_stream(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "hello stream"}]},
    ) as stream:
        texts = list(stream.text_deltas)
        run = stream.get_final_run()
    assert "".join(texts).endswith("hello stream")
    assert run.status == "completed"


def test_stream_citations_and_include(
    server, client: openai.OpenAI, spec_checker: SpecChecker
) -> None:
    assistant = file_search_assistant(
        client,
        {"guide.md": b"# Guide\nThe capital of France is Paris. It is on the Seine.\n"},
        store_name="stream-docs",
    )

    def run_on_new_thread(question: str, query: str = "") -> list[dict]:
        thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
        return stream_run(server, thread.id, assistant.id, spec_checker, query)

    events = run_on_new_thread("What is the capital of France?")
    done_steps = [e["data"] for e in events if e["event"] == "thread.run.step.completed"]
    results = done_steps[0]["step_details"]["tool_calls"][0]["file_search"]["results"]
    assert results and "content" not in results[0]
    assert results[0]["file_name"] == "guide.md"

    final = next(e["data"] for e in events if e["event"] == "thread.message.completed")
    text = final["content"][0]["text"]
    assert text["annotations"], text
    # The deltas carry each marker whole, with its annotation.
    streamed_annotations = [
        a
        for e in events
        if e["event"] == "thread.message.delta"
        for a in e["data"]["delta"]["content"][0]["text"].get("annotations", [])
    ]
    assert [{k: v for k, v in a.items() if k != "index"} for a in streamed_annotations] == text[
        "annotations"
    ]
    for a in text["annotations"]:
        assert text["value"][a["start_index"] : a["end_index"]] == a["text"]

    events = run_on_new_thread(
        "Which river is Paris on?",
        "?include[]=step_details.tool_calls[*].file_search.results[*].content",
    )
    done_steps = [e["data"] for e in events if e["event"] == "thread.run.step.completed"]
    results = done_steps[0]["step_details"]["tool_calls"][0]["file_search"]["results"]
    assert "Seine" in results[0]["content"][0]["text"]


def test_sdk_stream_snapshot_has_citations(client: openai.OpenAI) -> None:
    assistant = file_search_assistant(
        client,
        {"facts.txt": b"Water boils at 100 degrees Celsius at sea level.\n"},
        store_name="snap",
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "At what temperature does water boil?"}]
    )
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
        s.until_done()
        message = s.get_final_messages()[-1]
    stored = client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert message.content[0].text.annotations == stored.content[0].text.annotations
    assert stored.content[0].text.annotations[0].type == "file_citation"


@pytest.mark.parametrize("path", ["/threads/thread_missing/runs", "/threads/runs"])
def test_stream_request_errors_are_json(server, path: str) -> None:
    r = httpx.post(
        f"{server.base_url}{path}",
        headers=HEADERS,
        json={"assistant_id": "asst_missing", "stream": True},
    )
    assert r.status_code in (400, 404)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["message"]
