"""State survives restarts; runs waiting for tool outputs survive too, or expire."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

from tests.support.tool_defs import QUIZ_TOOL
from tests.support.waiting import wait_for


def run_as_seen(client: openai.OpenAI, thread_id: str, run_id: str) -> dict[str, Any]:
    """A run, its steps and its thread's messages, as a client reads them."""
    return {
        "messages": client.beta.threads.messages.list(thread_id=thread_id).to_dict(),
        "steps": client.beta.threads.runs.steps.list(run_id=run_id, thread_id=thread_id).to_dict(),
        "run": client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).to_dict(),
    }


def test_everything_survives_a_restart(server_factory, spec_checker) -> None:
    srv = server_factory()
    client = srv.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o", name="Quiz", tools=[QUIZ_TOOL])
    done_thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "remember me"}], metadata={"k": "v"}
    )
    done = client.beta.threads.runs.create_and_poll(
        thread_id=done_thread.id, assistant_id=assistant.id
    )
    assert done.status == "completed"
    waiting_thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "display_quiz now"}]
    )
    waiting = client.beta.threads.runs.create_and_poll(
        thread_id=waiting_thread.id, assistant_id=assistant.id
    )
    assert waiting.status == "requires_action"
    before = run_as_seen(client, done_thread.id, done.id)

    srv.restart()
    client = srv.client(spec_checker)
    assert client.beta.assistants.retrieve(assistant.id).name == "Quiz"
    assert client.beta.threads.retrieve(done_thread.id).metadata == {"k": "v"}
    assert run_as_seen(client, done_thread.id, done.id) == before

    # A run waiting for outputs is still waiting, and takes them.
    waiting = client.beta.threads.runs.retrieve(waiting.id, thread_id=waiting_thread.id)
    assert waiting.status == "requires_action"
    call = waiting.required_action.submit_tool_outputs.tool_calls[0]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=waiting.id,
        thread_id=waiting_thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": json.dumps(["a"])}],
    )
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=waiting_thread.id)
    assert [s.type for s in steps.data] == ["message_creation", "tool_calls"]


def test_waiting_runs_expire_on_time_and_across_restarts(server_factory, spec_checker) -> None:
    srv = server_factory("--run-expiry-seconds", "2")
    client = srv.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[QUIZ_TOOL])

    def waiting_run():  # type: ignore[no-untyped-def]
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "display_quiz"}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert run.status == "requires_action"
        return thread, run

    thread, run = waiting_run()
    # (runs.poll stops at requires_action; wait for the status to change instead)
    expired = wait_for(
        lambda: (
            (r := client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)).status
            != "requires_action"
            and r
        )
    )
    assert expired.status == "expired" and expired.required_action is None
    assert expired.expires_at == run.expires_at
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    assert step.status == "expired" and step.expired_at is not None
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "x", "output": "1"}]
        )
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="free again")

    # Expiring while the server is down: found expired when it is back.
    thread, run = waiting_run()
    srv.stop()
    while time.time() < run.expires_at + 0.5:
        time.sleep(0.1)
    srv.start()
    client = srv.client(spec_checker)
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "expired"
