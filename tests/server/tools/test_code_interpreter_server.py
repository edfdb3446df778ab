"""The sandbox behind the server: code that fails a limit is a tool output, not an outage.

Over real HTTP with the openai SDK against the shared server process; the local model
runs a message's fenced code block when code interpreter is on. (The runaway-loop case
is covered on ``run_code`` itself: the server's default 30 s timeout is too slow here.)
"""

from __future__ import annotations

import sys

import openai
import pytest

from tests.support.sandbox import Listener

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")


def run_cell(client: openai.OpenAI, assistant_id: str, code: str) -> str:
    """Run ``code`` through a run; return the code_interpreter call's logs."""
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"```python\n{code}\n```"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    steps = client.beta.threads.runs.steps.list(
        run_id=run.id, thread_id=thread.id, order="asc"
    ).data
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "code_interpreter" and call.code_interpreter.input.strip() == code
    logs = [o.logs for o in call.code_interpreter.outputs if o.type == "logs"]
    assert len(logs) == 1
    return logs[0]


def test_limit_failures_come_back_as_outputs_and_the_server_stays_up(
    client: openai.OpenAI,
) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    hog = run_cell(client, assistant.id, "x = bytearray(64 * 1024**3)")
    assert "MemoryError" in hog

    listener = Listener()
    try:
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), timeout=2)"
        network = run_cell(client, assistant.id, code)
        assert "Error" in network.splitlines()[-1] and listener.accepted == 0
    finally:
        listener.close()

    env = run_cell(client, assistant.id, "import os\nsorted(os.environ)")
    assert "API_KEY" not in env and "ORCHESTRATOR" not in env

    # The same server goes on answering, and runs code normally.
    assert client.beta.assistants.retrieve(assistant.id).id == assistant.id
    assert run_cell(client, assistant.id, "6 * 7").startswith("42")
