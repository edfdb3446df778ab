"""Every delta is a true delta, checked with the SDK's own stream accumulators.

The rule: an SDK that accumulates the ``*.delta`` events over the ``created`` snapshot
(openai-python concatenates strings, sums numbers and merges indexed list entries)
reproduces the ``completed`` object exactly. A field repeated in a delta arrives
doubled (``file-Xfile-X``), so each stream below goes through
``client.beta.threads.runs.stream`` with an :class:`AssistantEventHandler` that keeps
the accumulated snapshot of every message and run step and compares it with the
completed one, and records what ``on_image_file_done`` / ``on_tool_call_done`` see.
Covered: message text (with citations), image_file parts, code_interpreter calls
(input, logs and image outputs), file_search calls (with results), function calls.
"""

from __future__ import annotations

import json
from typing import Any

import openai
from openai import AssistantEventHandler

from tests.support.runs import file_search_assistant
from tests.support.tool_defs import QUIZ_TOOL

# A 1x1 PNG written by the code, with no third-party library needed.
PNG_CODE = (
    "import base64\n"
    "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
    "nGNgYGBgAAAABQABh6FO1AAAAABJRU5ErkJggg==')\n"
    "open('dot.png', 'wb').write(png)\nprint('saved')\n"
)


def _without_index(value: Any) -> Any:
    # Indexed list entries keep their "index" in the SDK's snapshot; the object does not.
    if isinstance(value, dict):
        return {k: _without_index(v) for k, v in value.items() if k != "index"}
    if isinstance(value, list):
        return [_without_index(v) for v in value]
    return value


class Accumulated(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, Any] = {}
        self.steps: dict[str, Any] = {}
        self.mismatches: list[str] = []
        self.images_done: list[str] = []
        self.calls_done: list[dict[str, Any]] = []
        self.deltas = 0

    def on_message_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        self.deltas += 1
        self.messages[snapshot.id] = snapshot.model_dump()["content"]

    def on_message_done(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.id in self.messages:
            got = _without_index(self.messages[message.id])
            want = _without_index(message.model_dump()["content"])
            if got != want:
                self.mismatches.append(f"message {message.id}: {got} != {want}")

    def on_run_step_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        self.deltas += 1
        self.steps[snapshot.id] = snapshot.model_dump()["step_details"]

    def on_run_step_done(self, run_step) -> None:  # type: ignore[no-untyped-def]
        if run_step.id in self.steps:
            got = _without_index(self.steps[run_step.id])
            want = _without_index(run_step.model_dump()["step_details"])
            if got != want:
                self.mismatches.append(f"step {run_step.id}: {got} != {want}")

    def on_image_file_done(self, image_file) -> None:  # type: ignore[no-untyped-def]
        self.images_done.append(image_file.file_id)

    def on_tool_call_done(self, tool_call) -> None:  # type: ignore[no-untyped-def]
        self.calls_done.append(tool_call.model_dump())


def stream_run(client: openai.OpenAI, thread_id: str, assistant_id: str) -> Accumulated:
    handler = Accumulated()
    with client.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, event_handler=handler
    ) as stream:
        stream.until_done()
    assert handler.deltas > 0
    assert handler.mismatches == []
    return handler


def assert_done_ids(handler: Accumulated, ids: list[str]) -> None:
    # The SDK calls on_tool_call_done again at every later step/run end with the last
    # call; each time it must carry the id as stored, never a doubled one.
    seen = list(dict.fromkeys(c["id"] for c in handler.calls_done))
    assert seen == ids


def stored_calls(client: openai.OpenAI, thread_id: str, run_id: str) -> list[Any]:
    steps = client.beta.threads.runs.steps.list(run_id=run_id, thread_id=thread_id, order="asc")
    return [c for s in steps.data if s.type == "tool_calls" for c in s.step_details.tool_calls]


def test_code_images_and_calls_accumulate_to_what_is_stored(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"```python\n{PNG_CODE}```"}]
    )
    handler = stream_run(client, thread.id, assistant.id)
    run = handler.current_run
    assert run is not None and run.status == "completed"
    [reply] = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert reply.content[0].type == "image_file"
    file_id = reply.content[0].image_file.file_id
    # The reply starts with the image: on_image_file_done sees its id once, not twice.
    assert handler.images_done == [file_id]
    [call] = stored_calls(client, thread.id, run.id)
    assert_done_ids(handler, [call.id])
    assert handler.calls_done[0]["code_interpreter"]["input"] == call.code_interpreter.input
    outputs = call.code_interpreter.outputs
    assert [o.type for o in outputs] == ["logs", "image"] and outputs[1].image.file_id == file_id
    # The SDK's final snapshots are the stored objects.
    final = handler.get_final_messages()
    assert [m.content for m in final] == [reply.content]


def test_file_search_calls_and_citations_accumulate_to_what_is_stored(
    client: openai.OpenAI,
) -> None:
    assistant = file_search_assistant(
        client,
        {"refunds.md": b"Refunds are paid within 30 days of the return of the item."},
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "How long do refunds take?"}]
    )
    handler = stream_run(client, thread.id, assistant.id)
    run = handler.current_run
    assert run is not None and run.status == "completed"
    [call] = stored_calls(client, thread.id, run.id)
    # The call id once (OpenAI sends it in a call's first delta only).
    assert_done_ids(handler, [call.id])
    assert handler.calls_done[0]["type"] == "file_search"
    [reply] = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert reply.content[0].text.annotations, "the reply cites the file"
    steps = handler.get_final_run_steps()
    assert [s.id for s in steps if s.type == "tool_calls"]


def test_function_calls_accumulate_to_what_is_stored(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[QUIZ_TOOL])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "Make a quiz about volcanoes"}]
    )
    handler = stream_run(client, thread.id, assistant.id)
    run = handler.current_run
    assert run is not None and run.status == "requires_action"
    [wanted] = run.required_action.submit_tool_outputs.tool_calls
    assert_done_ids(handler, [wanted.id])
    done = handler.calls_done[0]["function"]
    assert done["name"] == "display_quiz"
    assert json.loads(done["arguments"]) == json.loads(wanted.function.arguments)
