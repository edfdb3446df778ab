"""The sandbox behind the server: code that fails a limit is a tool output, not an outage.

Over real HTTP with the openai SDK against the shared server process; the local model
runs a message's fenced code block when code interpreter is on. (The runaway-loop case
is covered on ``run_code`` itself: the server's default 30 s timeout is too slow here.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import openai
import pytest

from orchestrator.server.tools.code_interpreter import probe_isolation
from tests.support import API_KEY, ROOT
from tests.support.sandbox import WITHOUT_USER_NAMESPACES, Listener, PrefixedServer, have

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


def test_the_startup_line_says_the_sandbox_mode(server) -> None:  # type: ignore[no-untyped-def]
    lines = server.log_text().splitlines()
    first = next(line for line in lines if line.startswith("Assistants API v2 server on "))
    assert first.endswith(f", code interpreter sandbox: {probe_isolation().mode})")


@pytest.mark.integration
@pytest.mark.skipif(not have("unshare"), reason="needs unshare(1)")
@pytest.mark.parametrize("opt_in", [False, True])
def test_without_namespaces_code_runs_only_if_the_operator_opts_in(
    tmp_path: Path, opt_in: bool
) -> None:
    """Where only the audit-hook mode works (model code could read the server's keys),
    a run that calls the code interpreter fails with a clear error, unless the server was
    started with ``--sandbox-isolation weak``, which it then warns about."""
    server = PrefixedServer(
        api_key=API_KEY,
        extra_args=["--sandbox-isolation", "weak"] if opt_in else [],
        log_path=tmp_path / "server.log",
        cwd=ROOT,
        prefix=WITHOUT_USER_NAMESPACES,
    ).start()
    try:
        client = server.client()
        assistant = client.beta.assistants.create(
            model="gpt-4o", tools=[{"type": "code_interpreter"}]
        )
        if opt_in:
            assert run_cell(client, assistant.id, "6 * 7").startswith("42")
        else:
            thread = client.beta.threads.create(
                messages=[{"role": "user", "content": "```python\nprint('never runs')\n```"}]
            )
            run = client.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert run.status == "failed"
            assert run.last_error is not None and run.last_error.code == "server_error"
            assert run.last_error.message.startswith(
                "The code interpreter is disabled on this server: no sandbox isolation works"
            )
    finally:
        server.stop()
    lines = server.log_text().splitlines()
    sandbox = "audit-hook" if opt_in else "disabled"
    first = next(line for line in lines if line.startswith("Assistants API v2 server on "))
    assert first.endswith(f", code interpreter sandbox: {sandbox})")
    warning = next(line for line in lines if line.startswith("WARNING: "))
    assert "the environment of the server process (its API keys)" in warning
    if not opt_in:
        assert "--sandbox-isolation weak" in warning
