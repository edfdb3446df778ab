"""Responses, conversations and containers survive a restart; a background response
in flight when the server dies is failed when it comes back."""

from __future__ import annotations

import io

from tests.support.tool_defs import DISPLAY_QUIZ
from tests.support.waiting import wait_for

QUIZ = {"type": "function", **DISPLAY_QUIZ}


def test_state_survives_and_in_flight_background_fails(server_factory, spec_checker) -> None:
    srv = server_factory()
    client = srv.client(spec_checker)
    conv = client.conversations.create(metadata={"k": "v"})
    done = client.responses.create(model="local", input="기억해", conversation=conv.id)
    asked = client.responses.create(model="local", input="display_quiz", tools=[QUIZ])
    container = client.containers.create(name="kept")
    kept = client.containers.files.create(container.id, file=("a.txt", io.BytesIO(b"abc")))
    flying = client.responses.create(
        model="local",
        input="```python\nimport time\ntime.sleep(60)\n```",
        tools=[{"type": "code_interpreter", "container": container.id}],
        background=True,
    )
    wait_for(lambda: client.responses.retrieve(flying.id).status == "in_progress")
    items_before = client.conversations.items.list(conv.id).to_dict()

    srv.kill()
    srv.start()
    client = srv.client(spec_checker)

    assert client.responses.retrieve(done.id).model_dump() == done.model_dump()
    assert client.conversations.retrieve(conv.id).metadata == {"k": "v"}
    assert client.conversations.items.list(conv.id).to_dict() == items_before
    content = client.containers.files.content.retrieve(kept.id, container_id=container.id)
    assert content.read() == b"abc"

    failed = client.responses.retrieve(flying.id)
    assert failed.status == "failed" and failed.error.code == "server_error"
    assert "restarted" in failed.error.message

    call = asked.output[0]
    answered = client.responses.create(
        model="local",
        previous_response_id=asked.id,
        tools=[QUIZ],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "ok"}],
    )
    assert answered.output_text == "display_quiz returned: ok"


def test_a_background_stream_resumes_after_a_restart_with_its_text_deltas(
    server_factory, spec_checker
) -> None:
    srv = server_factory()
    client = srv.client(spec_checker)
    started = client.responses.create(
        model="local", input="Tell me about the harbour and its ships.", background=True
    )
    wait_for(lambda: client.responses.retrieve(started.id).status == "completed")
    before = [e.to_dict() for e in client.responses.retrieve(started.id, stream=True)]

    srv.kill()
    srv.start()
    client = srv.client(spec_checker)

    resumed = [
        e.to_dict() for e in client.responses.retrieve(started.id, stream=True, starting_after=2)
    ]
    assert resumed == before[3:]
    deltas = [e["delta"] for e in resumed if e["type"] == "response.output_text.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == client.responses.retrieve(started.id).output_text
    assert resumed[-1]["type"] == "response.completed"
