"""Cancel, queueing, expiry and restart recovery of runs that are still executing.

A run with the local model finishes in milliseconds, so these tests give the server a
slow model: the ``chat`` provider pointed at :class:`HeldUpstream`, a stand-in for an
external ``/v1/chat/completions`` endpoint (outside the product) that streams the
start of a reply and then waits until the test releases it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.support import API_KEY
from tests.support.waiting import wait_for

HOLD = "HOLD"
FAIL = "FAIL"
TOOLS = "TOOLS"


class HeldUpstream:
    """Streams "partial reply."; when the last user message says HOLD it waits for the
    release after "partial ", when it says FAIL it answers 500, and when it says TOOLS
    it calls the first function (id "call_0") until it has two outputs."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.holding = threading.Semaphore(0)
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                upstream.requests.append(body)
                users = [m for m in body["messages"] if m["role"] == "user"]
                text = users[-1]["content"] if users else ""
                if isinstance(text, list):
                    text = " ".join(p.get("text", "") for p in text)
                if FAIL in text:
                    error = json.dumps({"error": {"message": "upstream is down", "type": "x"}})
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error.encode())
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                outputs = [m for m in body["messages"] if m["role"] == "tool"]
                if TOOLS in text and len(outputs) < 2:
                    # Like servers that number calls per reply: always "call_0".
                    name = body["tools"][0]["function"]["name"]
                    call = {"index": 0, "id": "call_0", "type": "function"}
                    call["function"] = {"name": name, "arguments": '{"city": "Seoul"}'}
                    self._chunk({"role": "assistant", "tool_calls": [call]})
                    self._chunk({}, finish="tool_calls")
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                try:
                    self._chunk({"role": "assistant", "content": "partial "})
                    if HOLD in text:
                        upstream.holding.release()
                        upstream.release.wait(60)
                    self._chunk({"content": "reply."})
                    self._chunk({}, finish="stop")
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except OSError:
                    pass  # the server hung up (cancelled run)

            def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> None:
                chunk = {
                    "id": "chatcmpl-held",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "held",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                if finish:
                    chunk["usage"] = {
                        "prompt_tokens": 7,
                        "completion_tokens": 2,
                        "total_tokens": 9,
                    }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def wait_holding(self, timeout: float = 20) -> None:
        assert self.holding.acquire(timeout=timeout), "the upstream was never asked"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def upstream() -> Iterator[HeldUpstream]:
    up = HeldUpstream()
    yield up
    up.close()


@pytest.fixture(scope="module")
def held(server_factory) -> Iterator[tuple[HeldUpstream, Any]]:
    """One chat-provider server with a single run slot, over a held upstream."""
    up = HeldUpstream()
    yield up, chat_server(server_factory, up, "--max-concurrent-runs", "1")
    up.close()


def chat_server(server_factory, upstream: HeldUpstream, *extra: str, persistent: bool = False):
    return server_factory(
        "--model-provider",
        "chat",
        "--upstream-base-url",
        upstream.base_url,
        "--upstream-max-retries",
        "0",
        *extra,
        persistent=persistent,
    )


def test_cancel_in_progress_and_queued_runs(held, spec_checker) -> None:
    upstream, srv = held
    client = srv.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o")
    busy = client.beta.threads.create(messages=[{"role": "user", "content": f"{HOLD} please"}])
    waiting = client.beta.threads.create(messages=[{"role": "user", "content": "next"}])
    run = client.beta.threads.runs.create(thread_id=busy.id, assistant_id=assistant.id)
    upstream.wait_holding()
    queued = client.beta.threads.runs.create(thread_id=waiting.id, assistant_id=assistant.id)

    # One slot: the second run waits its turn.
    time.sleep(0.2)
    assert client.beta.threads.runs.retrieve(queued.id, thread_id=waiting.id).status == "queued"
    got = client.beta.threads.runs.cancel(queued.id, thread_id=waiting.id)
    assert got.status == "cancelling"
    got = client.beta.threads.runs.poll(queued.id, thread_id=waiting.id)
    assert got.status == "cancelled" and got.started_at is None

    current = client.beta.threads.runs.retrieve(run.id, thread_id=busy.id)
    assert current.status == "in_progress" and current.started_at is not None
    message = wait_for(
        lambda: client.beta.threads.messages.list(thread_id=busy.id, run_id=run.id).data
    )[0]
    assert message.status == "in_progress"
    got = client.beta.threads.runs.cancel(run.id, thread_id=busy.id)
    assert got.status == "cancelling"
    got = client.beta.threads.runs.poll(run.id, thread_id=busy.id)
    assert got.status == "cancelled" and got.cancelled_at is not None
    message = client.beta.threads.messages.retrieve(message.id, thread_id=busy.id)
    assert message.status == "incomplete"
    assert message.incomplete_details.reason == "run_cancelled"
    assert message.content[0].text.value == "partial "
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=busy.id).data[0]
    assert step.status == "cancelled" and step.cancelled_at is not None

    # The slot is free again and the thread takes new work.
    client.beta.threads.messages.create(thread_id=busy.id, role="user", content="again")
    again = client.beta.threads.runs.create_and_poll(thread_id=busy.id, assistant_id=assistant.id)
    assert again.status == "completed"
    reply = client.beta.threads.messages.list(thread_id=busy.id, run_id=again.id).data[0]
    assert reply.content[0].text.value == "partial reply."
    assert again.usage.total_tokens == 9


def test_cancel_while_streaming(held, spec_checker) -> None:
    upstream, srv = held
    client = srv.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": HOLD}])
    seen: list[str] = []

    def read() -> None:
        with httpx.stream(
            "POST",
            f"{srv.base_url}/threads/{thread.id}/runs",
            headers={"Authorization": f"Bearer {API_KEY}"},
            json={"assistant_id": assistant.id, "stream": True},
            timeout=30,
        ) as r:
            seen.append(r.read().decode())

    reader = threading.Thread(target=read)
    reader.start()
    upstream.wait_holding()
    run = client.beta.threads.runs.list(thread_id=thread.id).data[0]
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    reader.join(20)
    events = [e["event"] for e in spec_checker.check_stream_text(seen[0])]
    assert events[-3:] == ["thread.run.cancelling", "thread.run.cancelled", "done"] or events[
        -2:
    ] == ["thread.run.cancelled", "done"]
    assert "thread.run.cancelling" in events
    assert "thread.message.incomplete" in events and "thread.run.step.cancelled" in events


def test_in_progress_run_expires(server_factory, upstream, spec_checker) -> None:
    srv = chat_server(server_factory, upstream, "--run-expiry-seconds", "2")
    client = srv.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": HOLD}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert run.expires_at == run.created_at + 2
    upstream.wait_holding()
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "expired" and run.expires_at is not None
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    assert step.status == "expired" and step.expired_at is not None
    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert message.incomplete_details.reason == "run_expired"
    # An expired run frees the thread.
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="later")


def test_restart_fails_runs_that_were_executing(server_factory, upstream, spec_checker) -> None:
    srv = chat_server(server_factory, upstream, persistent=True)
    client = srv.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": HOLD}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    upstream.wait_holding()
    wait_for(lambda: client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data)
    srv.stop(kill=True)  # a crash: nothing gets to clean up
    srv.start()
    client = srv.client(spec_checker)
    run = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert run.status == "failed" and run.last_error.code == "server_error"
    assert "restarted" in run.last_error.message
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    assert step.status == "failed" and step.last_error.code == "server_error"
    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert message.status == "incomplete" and message.incomplete_details.reason == "run_failed"
    # Nothing else was lost, and the thread works again.
    assert client.beta.assistants.retrieve(assistant.id).id == assistant.id
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="again")
    again = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert again.status == "completed"


def test_upstream_failure_fails_the_run(held, spec_checker) -> None:
    _, srv = held
    client = srv.client(spec_checker)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": FAIL}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed" and run.failed_at is not None
    assert run.last_error.code == "server_error"
    assert "upstream is down" in run.last_error.message
    # The server is still up and the thread takes new work.
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="fine now")
    again = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert again.status == "completed"


def test_repeated_upstream_call_ids_are_made_unique(held, spec_checker) -> None:
    _, srv = held
    client = srv.client(spec_checker)
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[weather])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": TOOLS}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    first = run.required_action.submit_tool_outputs.tool_calls[0]
    assert first.id == "call_0"  # the upstream's own id is kept
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": first.id, "output": "1"}]
    )
    second = run.required_action.submit_tool_outputs.tool_calls[0]
    assert second.id != first.id  # a repeat would make outputs ambiguous
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": second.id, "output": "2"}],
    )
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc")
    outputs = [s.step_details.tool_calls[0].function.output for s in steps.data[:2]]
    assert outputs == ["1", "2"]
