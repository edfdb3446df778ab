"""Smoke test of an installed wheel: serve, create an assistant, run it (see wheel-smoke)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import orchestrator
from orchestrator.testing import ServerProcess

# The SDK marks the Assistants API deprecated; using it is the point.
warnings.filterwarnings("ignore", category=DeprecationWarning)

here = Path(orchestrator.__file__).resolve()
assert "site-packages" in here.parts, f"not the installed wheel: {here}"

with ServerProcess(api_key="sk-wheel-smoke") as server:
    client = server.client()
    assistant = client.beta.assistants.create(model="gpt-4o", name="Smoke")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "ping"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run.last_error
    reply = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    text = reply.content[0].text.value
    assert text == "[local model] You said: ping", text
print(f"wheel smoke test passed: {here.parent}", file=sys.stderr)
