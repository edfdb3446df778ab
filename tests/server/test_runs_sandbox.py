"""Code interpreter limits through runs: a runaway loop times out as a tool output, and
cancelling a run kills the code it is executing. (Memory hog and network call through
the server: tests/test_code_interpreter_server.py.)"""

from __future__ import annotations

import sys
import time

import pytest

from tests.support.waiting import wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

TIMEOUT = 3


@pytest.fixture(scope="module")
def sandboxed(server_factory):  # type: ignore[no-untyped-def]
    return server_factory("--sandbox-timeout", str(TIMEOUT), persistent=False)


def code_message(code: str) -> list[dict]:
    return [{"role": "user", "content": f"```python\n{code}\n```"}]


def test_runaway_loop_times_out_and_the_server_stays_up(sandboxed, spec_checker) -> None:
    client = sandboxed.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=code_message("while True:\n    pass"))
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    steps = client.beta.threads.runs.steps.list(
        run_id=run.id, thread_id=thread.id, order="asc"
    ).data
    logs = steps[0].step_details.tool_calls[0].code_interpreter.outputs[0].logs
    assert "Timed out" in logs
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert "failed" in reply.content[0].text.value and "Timed out" in reply.content[0].text.value
    # Up and running code.
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="```\n6*7\n```")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"


def test_cancelling_a_run_kills_its_code(sandboxed, spec_checker) -> None:
    client = sandboxed.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    code = "import time\ntime.sleep(2)\nopen('late.txt', 'w').write('still ran')\nprint('done')"
    thread = client.beta.threads.create(messages=code_message(code))
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    def executing() -> bool:
        steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
        return bool(steps) and bool(steps[0].step_details.tool_calls)

    wait_for(executing)
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "cancelled"
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    assert step.status == "cancelled"
    assert step.step_details.tool_calls[0].code_interpreter.outputs == []

    # Had the code survived the cancel, it would have written late.txt by now.
    time.sleep(2.5)
    client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="```python\nimport os\nprint(sorted(os.listdir('.')))\n```",
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
    logs = steps[-1].step_details.tool_calls[0].code_interpreter.outputs[0].logs
    assert "late.txt" not in logs
