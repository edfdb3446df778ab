"""The ``chat`` model provider end to end: one server as the upstream of another.

``upstream`` is an ``orchestrator serve`` process with the local model, answering
``POST /v1/chat/completions``. ``chat_server`` runs ``--model-provider chat`` against
it, through :class:`FaultProxy` -- a test double outside the product that forwards
requests untouched, records each exchange (so tests can compare what the run shows
with what the upstream really said), and injects faults on demand (429, 5xx, a hang,
being down). Every seed flow goes through the chat provider: plain Q&A, the
``display_quiz`` round trip, file search with a citation, code interpreter, streaming.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AssistantEventHandler

from orchestrator.server.config import ServerConfig, UpstreamConfig
from orchestrator.server.providers.base import (
    ChatMessage,
    ModelError,
    ModelRequest,
    ModelResponse,
    TextDelta,
    ToolCallDelta,
    ToolDef,
)
from orchestrator.server.providers.chat import ChatModel
from orchestrator.testing import ServerProcess
from tests.support.tool_defs import DISPLAY_QUIZ, QUIZ_TOOL
from tests.support.wire_check import SpecChecker

UPSTREAM_KEY = "sk-upstream-" + secrets.token_hex(16)


# --- the fault-injecting proxy (test double; outside the product) -------------------


@dataclass
class Fault:
    status: int = 500
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # > 0: accept the request, then say nothing until `release` is set or this long has
    # passed (a hung upstream).
    hang_seconds: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)
    # A whole answer of the upstream's own (e.g. server-sent events), sent as is.
    raw: bytes | None = None


@dataclass
class Exchange:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 0
    response: str = ""
    # Set once the proxy has sent (and recorded) the whole response.
    done: threading.Event = field(default_factory=threading.Event)

    def chunks(self) -> list[dict[str, Any]]:
        out = []
        for line in self.response.splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                out.append(json.loads(line[6:]))
        return out

    def reply_text(self) -> str:
        return "".join(
            c["delta"].get("content") or "" for ch in self.chunks() for c in ch["choices"]
        )

    def text_pieces(self) -> list[str]:
        return [
            c["delta"]["content"]
            for ch in self.chunks()
            for c in ch["choices"]
            if c["delta"].get("content")
        ]

    def tool_calls(self) -> list[dict[str, str]]:
        """The upstream's tool calls, assembled from its deltas: id, name, arguments."""
        calls: dict[int, dict[str, str]] = {}
        for ch in self.chunks():
            for c in ch["choices"]:
                for tc in c["delta"].get("tool_calls") or []:
                    call = calls.setdefault(tc["index"], {"id": "", "name": "", "arguments": ""})
                    call["id"] = tc.get("id") or call["id"]
                    fn = tc.get("function") or {}
                    call["name"] = fn.get("name") or call["name"]
                    call["arguments"] += fn.get("arguments") or ""
        return [calls[i] for i in sorted(calls)]

    def usage(self) -> dict[str, int]:
        return next(ch["usage"] for ch in self.chunks() if ch.get("usage"))


class FaultProxy:
    def __init__(self, target: str) -> None:
        self.target = target
        self.faults: deque[Fault] = deque()
        # Byte replacements applied to the next forwarded response (e.g. other id styles).
        self.rewrites: deque[list[tuple[bytes, bytes]]] = deque()
        self.exchanges: list[Exchange] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def mark(self) -> int:
        return len(self.exchanges)

    def since(self, mark: int) -> list[Exchange]:
        """Exchanges from ``mark`` on, each complete (the client may finish reading first)."""
        out = self.exchanges[mark:]
        for ex in out:
            assert ex.done.wait(10), f"the proxy never finished answering {ex.path}"
        return out

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # Body ends when the connection closes.

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                ex = Exchange(self.path, {k.lower(): v for k, v in self.headers.items()}, {})
                ex.body = json.loads(raw) if raw else {}
                proxy.exchanges.append(ex)
                try:
                    self.answer(ex, raw)
                finally:
                    ex.done.set()

            def answer(self, ex: Exchange, raw: bytes) -> None:
                fault = proxy.faults.popleft() if proxy.faults else None
                if fault and fault.hang_seconds:
                    ex.done.set()  # Nothing will be said.
                    fault.release.wait(fault.hang_seconds)
                    return
                if fault:
                    ex.status = fault.status
                    payload = (
                        fault.raw if fault.raw is not None else json.dumps(fault.body).encode()
                    )
                    ex.response = payload.decode()
                    self.send_response(fault.status)
                    for k, v in {"content-type": "application/json", **fault.headers}.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {
                    "content-type": "application/json",
                    "authorization": self.headers.get("authorization", ""),
                }
                with httpx.stream(
                    "POST", proxy.target + self.path, content=raw, headers=headers, timeout=60
                ) as r:
                    ex.status = r.status_code
                    self.send_response(r.status_code)
                    self.send_header("content-type", r.headers.get("content-type", ""))
                    self.end_headers()
                    got = []
                    rewrite = proxy.rewrites.popleft() if proxy.rewrites else None
                    for piece in r.iter_raw():
                        got.append(piece)
                        if rewrite is None:
                            self.wfile.write(piece)
                            self.wfile.flush()
                    if rewrite is not None:  # Whole body, so no replacement is split.
                        whole = b"".join(got)
                        for old, new in rewrite:
                            whole = whole.replace(old, new)
                        got = [whole]
                        self.wfile.write(whole)
                    ex.response = b"".join(got).decode()

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream(server_factory) -> ServerProcess:
    # Its own key, so every exchange proves the chat provider sends the right one.
    return server_factory(persistent=False, api_key=UPSTREAM_KEY)


@pytest.fixture(scope="module")
def proxy(upstream: ServerProcess):
    p = FaultProxy(f"http://127.0.0.1:{upstream.port}").start()
    yield p
    p.stop()


def _chat_server(server_factory, proxy: FaultProxy, timeout: int) -> ServerProcess:
    return server_factory(
        "--model-provider",
        "chat",
        "--upstream-base-url",
        proxy.base_url,
        "--model-map",
        "gpt-4o=upstream-model",
        "--upstream-timeout",
        str(timeout),
        "--upstream-max-retries",
        "2",
        "--upstream-max-tool-rounds",
        "4",
        persistent=False,
        # The key through the environment, as the README recommends (not on argv).
        env={"ORCHESTRATOR_UPSTREAM_API_KEY": UPSTREAM_KEY},
    )


@pytest.fixture(scope="module")
def chat_server(server_factory, proxy: FaultProxy) -> ServerProcess:
    # The upstream timeout is far above any pause load can cause: with 2 s, a busy machine
    # (the upstream process waiting seconds for a core between two chunks) made the chat
    # provider cut a streamed reply off or retry it, so these flows failed now and then.
    return _chat_server(server_factory, proxy, timeout=60)


@pytest.fixture(scope="module")
def impatient_server(server_factory, proxy: FaultProxy) -> ServerProcess:
    # For the timeout itself: a hung upstream hangs until released, so it always outlasts
    # this timeout whatever the load; the retry that follows has 5 s for its first bytes.
    return _chat_server(server_factory, proxy, timeout=5)


@pytest.fixture
def api(chat_server: ServerProcess, proxy: FaultProxy, spec_checker: SpecChecker):
    proxy.faults.clear()
    proxy.rewrites.clear()
    if proxy._server is None:
        proxy.start()
    return chat_server.client(spec_checker)


def reply_of(api: openai.OpenAI, thread_id: str, run_id: str):
    msgs = api.beta.threads.messages.list(thread_id, run_id=run_id, order="asc").data
    assert msgs, "the run made no message"
    return msgs[-1].content[0].text


def run_once(api: openai.OpenAI, text: str, **assistant: Any):
    asst = api.beta.assistants.create(model="gpt-4o", **assistant)
    thread = api.beta.threads.create()
    api.beta.threads.messages.create(thread.id, role="user", content=text)
    return thread, api.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=50
    )


# --- the seed flows through the chat provider --------------------------------------


def test_plain_reply_is_the_upstreams_with_its_usage(api, proxy: FaultProxy) -> None:
    mark = proxy.mark()
    thread, run = run_once(
        api,
        "I need to solve the equation `3x + 11 = 14`. Can you help me?",
        name="Math Tutor",
        instructions="You are a personal math tutor. Answer in one short sentence.",
    )
    assert run.status == "completed", run.last_error
    [ex] = proxy.since(mark)
    assert ex.status == 200
    assert ex.path == "/v1/chat/completions"
    assert ex.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    sent = ex.body
    assert sent["model"] == "upstream-model"  # --model-map gpt-4o=upstream-model
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["messages"][0]["role"] == "system"
    assert "You are a personal math tutor." in sent["messages"][0]["content"]
    assert sent["messages"][-1] == {
        "role": "user",
        "content": "I need to solve the equation `3x + 11 = 14`. Can you help me?",
    }
    assert "tools" not in sent and "tool_choice" not in sent
    reply = reply_of(api, thread.id, run.id)
    assert reply.value == ex.reply_text() and reply.value
    upstream_usage = ex.usage()
    assert run.usage is not None
    assert run.usage.prompt_tokens == upstream_usage["prompt_tokens"]
    assert run.usage.completion_tokens == upstream_usage["completion_tokens"]


def test_display_quiz_round_trip_keeps_the_upstreams_call_ids(api, proxy: FaultProxy) -> None:
    mark = proxy.mark()
    thread, run = run_once(
        api,
        "Make a two-question quiz about quadratic equations and show it with display_quiz.",
        name="Quiz Generator",
        instructions="Make quizzes and give feedback.",
        tools=[QUIZ_TOOL],
    )
    assert run.status == "requires_action", run.last_error
    [first] = proxy.since(mark)
    sent_tools = first.body["tools"]
    assert sent_tools == [
        {
            "type": "function",
            "function": {
                "name": "display_quiz",
                "description": DISPLAY_QUIZ["description"],
                "parameters": DISPLAY_QUIZ["parameters"],
            },
        }
    ]
    upstream_calls = first.tool_calls()
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    # One call per upstream call, with the upstream's own ids and arguments.
    assert [c.id for c in calls] == [u["id"] for u in upstream_calls]
    assert [c.function.name for c in calls] == ["display_quiz"]
    args = json.loads(calls[0].function.arguments)
    assert args == json.loads(upstream_calls[0]["arguments"])
    assert isinstance(args["title"], str) and args["title"]
    assert args["questions"] and all(q["question_text"] for q in args["questions"])

    answers = json.dumps(["x = 1 or x = -3", "the discriminant"])
    run = api.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": calls[0].id, "output": answers}],
        poll_interval_ms=50,
    )
    assert run.status == "completed", run.last_error
    [second] = proxy.since(mark + 1)
    history = second.body["messages"]
    assistant_turn = next(m for m in history if m["role"] == "assistant" and m.get("tool_calls"))
    assert assistant_turn["tool_calls"] == [
        {
            "id": calls[0].id,
            "type": "function",
            "function": {"name": "display_quiz", "arguments": calls[0].function.arguments},
        }
    ]
    tool_turn = next(m for m in history if m["role"] == "tool")
    assert tool_turn == {"role": "tool", "tool_call_id": calls[0].id, "content": answers}
    reply = reply_of(api, thread.id, run.id)
    assert reply.value == second.reply_text() and reply.value


def test_file_search_reply_cites_the_file(api, proxy: FaultProxy) -> None:
    doc = (
        b"# Refund policy\n\nCustomers may ask for a refund within 30 days of purchase. "
        b"Refunds go back to the original payment method within five business days.\n"
    )
    vs = api.vector_stores.create(name="policies")
    batch = api.vector_stores.file_batches.upload_and_poll(
        vector_store_id=vs.id, files=[("refund-policy.md", doc)]
    )
    assert batch.file_counts.completed == 1
    [vs_file] = api.vector_stores.files.list(vs.id).data
    mark = proxy.mark()
    thread, run = run_once(
        api,
        "Use file_search: how many days do customers have to ask for a refund?",
        instructions="Answer from the policy documents.",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vs.id]}},
    )
    assert run.status == "completed", run.last_error
    first, second = proxy.since(mark)
    # Offered as a function with a clear schema, with the citation rule in the system text.
    [tool] = first.body["tools"]
    assert tool["function"]["name"] == "file_search"
    assert tool["function"]["parameters"]["required"] == ["query"]
    assert (
        "marker that heads it (the text in 【 】 brackets) exactly"
        in (first.body["messages"][0]["content"])
    )
    [upstream_call] = first.tool_calls()
    assert upstream_call["name"] == "file_search"

    steps = api.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    [call] = steps[0].step_details.tool_calls
    assert call.type == "file_search" and call.id == upstream_call["id"]
    # The engine's search results went back to the upstream as the tool message.
    tool_msg = next(m for m in second.body["messages"] if m["role"] == "tool")
    assert tool_msg["tool_call_id"] == upstream_call["id"]
    assert tool_msg["content"].startswith("【0:0†refund-policy.md】")

    text = reply_of(api, thread.id, run.id)
    assert text.value == second.reply_text()
    cites = [a for a in text.annotations if a.type == "file_citation"]
    assert cites, f"no file_citation in {text.value!r}"
    for a in cites:
        assert text.value[a.start_index : a.end_index] == a.text
        assert a.file_citation.file_id == vs_file.id


def test_code_interpreter_runs_the_upstreams_code(api, proxy: FaultProxy) -> None:
    mark = proxy.mark()
    thread, run = run_once(
        api,
        "Run this with code_interpreter:\n```python\nprint(sum(i * i for i in range(10)))\n```",
        name="Math Tutor",
        instructions="Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
    )
    assert run.status == "completed", run.last_error
    first, second = proxy.since(mark)
    [tool] = first.body["tools"]
    assert tool["function"]["name"] == "code_interpreter"
    assert tool["function"]["parameters"]["required"] == ["code"]
    [upstream_call] = first.tool_calls()
    steps = api.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    [call] = steps[0].step_details.tool_calls
    assert call.type == "code_interpreter" and call.id == upstream_call["id"]
    assert call.code_interpreter.input == json.loads(upstream_call["arguments"])["code"]
    assert "285" in call.code_interpreter.input or "sum(" in call.code_interpreter.input
    logs = [o.logs for o in call.code_interpreter.outputs if o.type == "logs"]
    assert logs and "285" in logs[0]
    tool_msg = next(m for m in second.body["messages"] if m["role"] == "tool")
    assert "285" in tool_msg["content"]
    assert reply_of(api, thread.id, run.id).value == second.reply_text()


def test_a_file_the_code_wrote_is_a_file_path_in_the_upstreams_reply(
    api, proxy: FaultProxy
) -> None:
    mark = proxy.mark()
    thread, run = run_once(
        api,
        "```python\nopen('table.csv', 'w').write('x,y\\n1,2\\n')\nprint('saved')\n```",
        tools=[{"type": "code_interpreter"}],
    )
    assert run.status == "completed", run.last_error
    _first, second = proxy.since(mark)
    # The upstream model was told where the file is, as a link it can repeat.
    tool_msg = next(m for m in second.body["messages"] if m["role"] == "tool")
    assert tool_msg["content"] == "saved\n\nFiles written: sandbox:/mnt/data/table.csv"
    reply = api.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    text = reply.content[0].text
    assert text.value == second.reply_text()
    [note] = text.annotations
    assert note.type == "file_path" and note.text == "sandbox:/mnt/data/table.csv"
    assert text.value[note.start_index : note.end_index] == note.text
    assert api.files.content(note.file_path.file_id).read() == b"x,y\n1,2\n"
    assert [a.file_id for a in reply.attachments] == [note.file_path.file_id]


def test_streamed_reply_arrives_in_many_deltas(api, proxy: FaultProxy) -> None:
    words = "the quick brown fox jumps over the lazy dog while the tutor explains algebra"
    asst = api.beta.assistants.create(model="gpt-4o", instructions="Repeat what you hear.")
    thread = api.beta.threads.create()
    api.beta.threads.messages.create(thread.id, role="user", content=f"Please repeat: {words}")

    class Collect(AssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.deltas: list[str] = []

        def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
            self.deltas.append(delta.value or "")

    mark = proxy.mark()
    handler = Collect()
    with api.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=asst.id, event_handler=handler
    ) as stream:
        stream.until_done()
    run = stream.get_final_run()
    assert run.status == "completed", run.last_error
    [ex] = proxy.since(mark)
    assert len(ex.text_pieces()) > 1
    assert len(handler.deltas) > 1, handler.deltas
    assert "".join(handler.deltas) == ex.reply_text()
    assert reply_of(api, thread.id, run.id).value == ex.reply_text()


def test_streamed_function_call_and_submit(api, proxy: FaultProxy) -> None:
    asst = api.beta.assistants.create(model="gpt-4o", tools=[QUIZ_TOOL])
    thread = api.beta.threads.create()
    api.beta.threads.messages.create(thread.id, role="user", content="Quiz me with display_quiz.")
    mark = proxy.mark()
    with api.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
        events = [e.event for e in stream]
        run = stream.current_run
    assert events[-1] == "thread.run.requires_action"
    assert "thread.run.step.delta" in events
    assert run is not None and run.required_action is not None
    [upstream_call] = proxy.since(mark)[0].tool_calls()
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert call.id == upstream_call["id"]
    with api.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "shown"}],
    ) as stream:
        stream.until_done()
    assert stream.get_final_run().status == "completed"


def test_other_id_styles_are_kept_as_the_upstream_sent_them(api, proxy: FaultProxy) -> None:
    # vLLM sends "chatcmpl-tool-<hex>", Mistral models 9 alphanumerics: kept verbatim,
    # and sent back verbatim with the outputs (some upstreams check them).
    proxy.rewrites.append([(b'"id":"call_', b'"id":"chatcmpl-tool-')])
    mark = proxy.mark()
    thread, run = run_once(api, "Show a quiz with display_quiz.", tools=[QUIZ_TOOL])
    assert run.status == "requires_action", run.last_error
    [upstream_call] = proxy.since(mark)[0].tool_calls()
    assert upstream_call["id"].startswith("chatcmpl-tool-")
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert call.id == upstream_call["id"]
    run = api.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "ok"}],
        poll_interval_ms=50,
    )
    assert run.status == "completed", run.last_error
    [second] = proxy.since(mark + 1)
    tool_msg = next(m for m in second.body["messages"] if m["role"] == "tool")
    assert tool_msg["tool_call_id"] == upstream_call["id"]


def test_a_forced_tool_is_forced_once_then_the_model_may_reply(api, proxy: FaultProxy) -> None:
    asst = api.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    thread = api.beta.threads.create()
    api.beta.threads.messages.create(thread.id, role="user", content="```\nprint(2 ** 10)\n```")
    mark = proxy.mark()
    run = api.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=asst.id,
        tool_choice={"type": "code_interpreter"},
        poll_interval_ms=50,
    )
    assert run.status == "completed", run.last_error
    first, second = proxy.since(mark)
    assert first.body["tool_choice"] == {
        "type": "function",
        "function": {"name": "code_interpreter"},
    }
    assert first.tool_calls()[0]["name"] == "code_interpreter"
    # Called once: from now on the model may answer (a real model would otherwise call
    # the forced tool every round until the engine's cap).
    assert second.body["tool_choice"] == "auto"
    assert "1024" in reply_of(api, thread.id, run.id).value


# --- upstream failures ----------------------------------------------------------------


def test_a_429_is_retried_honouring_retry_after(api, proxy: FaultProxy, chat_server) -> None:
    proxy.faults.append(
        Fault(
            429,
            {"error": {"message": "Rate limit reached", "type": "requests", "code": None}},
            {"retry-after": "1"},
        )
    )
    mark = proxy.mark()
    thread, run = run_once(api, "Hello after a rate limit")
    assert run.status == "completed", run.last_error
    limited, ok = proxy.since(mark)
    assert (limited.status, ok.status) == (429, 200)
    assert ok.body == limited.body  # The same request again.
    assert reply_of(api, thread.id, run.id).value == ok.reply_text()
    assert "retrying" in chat_server.log_text()


@pytest.mark.parametrize(
    ("fault", "code", "attempts", "says"),
    [
        pytest.param(
            Fault(429, {"error": {"message": "Rate limit reached"}}, {"retry-after": "0"}),
            "rate_limit_exceeded",
            3,
            "429: Rate limit reached",
            id="429",
        ),
        pytest.param(
            Fault(503, {"error": {"message": "overloaded"}}),
            "server_error",
            3,
            "503: overloaded",
            id="503",
        ),
        pytest.param(
            Fault(
                400,
                {
                    "error": {
                        "message": "This model's maximum context length is 8192 tokens.",
                        "code": "context_length_exceeded",
                    }
                },
            ),
            "invalid_prompt",
            1,
            "truncation_strategy",
            id="context-too-long",
        ),
        pytest.param(
            # OpenAI-style: the rejected key is echoed back in the message.
            Fault(401, {"error": {"message": f"Incorrect API key provided: {UPSTREAM_KEY}."}}),
            "server_error",
            1,
            "--upstream-api-key",
            id="401-echoing-the-key",
        ),
    ],
)
def test_upstream_errors_fail_the_run_clearly(
    api, proxy: FaultProxy, chat_server, fault: Fault, code: str, attempts: int, says: str
) -> None:
    proxy.faults.extend([fault] * attempts)
    mark = proxy.mark()
    thread, run = run_once(api, "Hello?")
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == code
    assert says in run.last_error.message
    assert len(proxy.since(mark)) == attempts
    # The key is in no run object, step, message or log line.
    steps = api.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    messages = api.beta.threads.messages.list(thread.id)
    for blob in (run.model_dump_json(), steps.model_dump_json(), messages.model_dump_json()):
        assert UPSTREAM_KEY not in blob
    assert UPSTREAM_KEY not in chat_server.log_text()
    assert UPSTREAM_KEY[12:] not in chat_server.log_text()


def _tool_call_sse(call_id: str, name: str, arguments: dict[str, Any]) -> Fault:
    """An upstream answer that calls one tool, as server-sent chat.completion.chunks."""
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    call = {"index": 0, "id": call_id, "type": "function"}
    call["function"] = {"name": name, "arguments": json.dumps(arguments)}
    chunks = [
        {**head, "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]},
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return Fault(200, raw=body.encode(), headers={"content-type": "text/event-stream"})


def test_an_upstream_that_never_stops_calling_tools_hits_the_cap(api, proxy: FaultProxy) -> None:
    # Canned upstream answers (the upstream is outside the product): code, code, code...
    proxy.faults.extend(
        _tool_call_sse(f"call_loop{i}", "code_interpreter", {"code": f"print({i})"})
        for i in range(30)
    )
    mark = proxy.mark()
    thread, run = run_once(api, "Keep going.", tools=[{"type": "code_interpreter"}])
    asked = len(proxy.since(mark))
    proxy.faults.clear()
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert f"made {asked} rounds of tool calls" in run.last_error.message
    assert asked == 4  # --upstream-max-tool-rounds
    steps = api.beta.threads.runs.steps.list(run.id, thread_id=thread.id, limit=100).data
    assert len(steps) == asked
    ids = sorted(c.id for s in steps for c in s.step_details.tool_calls)
    assert ids == sorted(f"call_loop{i}" for i in range(asked))


def test_a_hung_upstream_times_out_and_is_retried(
    api, impatient_server: ServerProcess, proxy: FaultProxy, spec_checker: SpecChecker
) -> None:
    # `api` has reset the proxy; the run goes through the server with the short timeout.
    client = impatient_server.client(spec_checker)
    hang = Fault(hang_seconds=120)  # Until released: longer than --upstream-timeout 5.
    proxy.faults.append(hang)
    mark = proxy.mark()
    try:
        thread, run = run_once(client, "Are you there?")
    finally:
        hang.release.set()
    assert run.status == "completed", run.last_error
    hung, ok = proxy.since(mark)
    assert hung.status == 0 and ok.status == 200
    assert reply_of(client, thread.id, run.id).value == ok.reply_text()


def test_cancelling_a_run_while_the_upstream_is_thinking(api, proxy: FaultProxy) -> None:
    thinking = Fault(hang_seconds=120)  # Until released, after the cancel.
    proxy.faults.append(thinking)
    asst = api.beta.assistants.create(model="gpt-4o")
    thread = api.beta.threads.create()
    api.beta.threads.messages.create(thread.id, role="user", content="Think hard.")
    mark = proxy.mark()
    run = api.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    deadline = time.monotonic() + 10
    while proxy.mark() == mark and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy.mark() > mark, "the run never reached the upstream"
    try:
        api.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        run = api.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=50)
    finally:
        thinking.release.set()
    assert run.status == "cancelled"
    assert len(proxy.since(mark)) == 1  # Not retried after the cancel.
    # The thread takes the next run, which goes through.
    run = api.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=50
    )
    assert run.status == "completed", run.last_error


def test_a_down_upstream_fails_the_run_and_the_server_carries_on(
    api, proxy: FaultProxy, chat_server
) -> None:
    asst = api.beta.assistants.create(model="gpt-4o")
    thread = api.beta.threads.create()
    api.beta.threads.messages.create(thread.id, role="user", content="Anyone home?")
    proxy.stop()
    try:
        run = api.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=50
        )
    finally:
        proxy.start()  # Same port again.
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert "unreachable" in run.last_error.message
    assert proxy.base_url.removesuffix("/v1") in run.last_error.message
    assert "gave up after 3 attempts" in run.last_error.message
    assert httpx.get(f"{chat_server.root_url}/health").status_code == 200
    # The thread is usable again, and the next run goes through.
    api.beta.threads.messages.create(thread.id, role="user", content="Back now?")
    run = api.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=50
    )
    assert run.status == "completed", run.last_error
    assert UPSTREAM_KEY not in chat_server.log_text()


# --- the embedded target, configured by orchestrator.yaml or the environment -----------


def _project(tmp_path: Path, server_yaml: str) -> Path:
    (tmp_path / "orchestrator.yaml").write_text(
        f"kind: Project\nnamespace: default\n{server_yaml}", encoding="utf-8"
    )
    return tmp_path


def test_project_file_server_settings_reach_the_embedded_target(
    api, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.project import load_project
    from orchestrator.settings import resolve_settings
    from orchestrator.targets import connect

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("H8_UPSTREAM_KEY", UPSTREAM_KEY)
    root = _project(
        tmp_path,
        "server:\n"
        "  model_provider: chat\n"
        f"  upstream_base_url: {proxy.base_url}\n"
        "  upstream_api_key: ${H8_UPSTREAM_KEY}\n"
        "  model_map: {gpt-4o: from-yaml}\n",
    )
    project = load_project(root)
    assert project.ok, [str(d) for d in project.diagnostics]
    target = resolve_settings(project.config).target
    assert target.kind == "embedded" and UPSTREAM_KEY not in repr(target)
    mark = proxy.mark()
    with connect(target) as client:
        asst = client.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=asst.id,
            thread={"messages": [{"role": "user", "content": "방정식 '3x + 11 = 14'를 풀어줘"}]},
            poll_interval_ms=50,
        )
    assert run.status == "completed", run.last_error
    [ex] = proxy.since(mark)
    assert ex.body["model"] == "from-yaml"
    assert ex.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"  # ${VAR} interpolated


def test_environment_selects_the_chat_provider_for_the_embedded_target(
    proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.project import load_project
    from orchestrator.settings import SettingsError, resolve_settings

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("ORCHESTRATOR_MODEL_PROVIDER", "chat")
    monkeypatch.setenv("ORCHESTRATOR_UPSTREAM_BASE_URL", proxy.base_url)
    monkeypatch.setenv("ORCHESTRATOR_UPSTREAM_API_KEY", UPSTREAM_KEY)
    monkeypatch.setenv("ORCHESTRATOR_MODEL_MAP", "gpt-4o=a *=b")
    project = load_project(_project(tmp_path, ""))
    server = resolve_settings(project.config).target.server
    assert server is not None and server.model_provider == "chat"
    assert server.upstream is not None
    assert server.upstream.base_url == proxy.base_url
    assert server.upstream.api_key == UPSTREAM_KEY
    assert server.upstream.model_map == {"gpt-4o": "a", "*": "b"}
    # Chat without an upstream is a clear usage error, not a server failing every run.
    monkeypatch.delenv("ORCHESTRATOR_UPSTREAM_BASE_URL")
    with pytest.raises(SettingsError, match="upstream_base_url"):
        resolve_settings(project.config)


def test_serve_refuses_chat_without_an_upstream(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from orchestrator.cli import cli
    from orchestrator.cli.exit_codes import USAGE

    for name in [k for k in os.environ if k.startswith("ORCHESTRATOR_")]:
        monkeypatch.delenv(name)
    args = ["serve", "--port", "0", "--db", ":memory:", "--model-provider", "chat"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == USAGE
    assert "--upstream-base-url" in result.output and "Traceback" not in result.output


# --- the provider on its own, against the same real upstream --------------------------


def _collect(model: ChatModel, request: ModelRequest) -> list[Any]:
    async def go() -> list[Any]:
        try:
            return [item async for item in model.stream(request)]
        finally:
            await model.aclose()

    return asyncio.run(go())


def _chat_model(proxy: FaultProxy, **upstream: Any) -> ChatModel:
    return ChatModel(
        ServerConfig(
            model_provider="chat",
            upstream=UpstreamConfig(base_url=proxy.base_url, api_key=UPSTREAM_KEY, **upstream),
        )
    )


def test_builtin_and_user_function_of_the_same_name_stay_apart(upstream, proxy: FaultProxy) -> None:
    # A user function named "file_search" next to the built-in: the built-in goes on
    # the wire under another name, and each call maps back to its own kind.
    request = ModelRequest(
        model="gpt-4o",
        messages=[
            ChatMessage(role="user", content="Call file_search and builtin_file_search now.")
        ],
        tools=[
            ToolDef(
                type="function",
                name="file_search",
                description="The user's own search.",
                parameters={
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"],
                },
            ),
            ToolDef(type="file_search", name="file_search"),
        ],
    )
    mark = proxy.mark()
    items = _collect(_chat_model(proxy), request)
    [ex] = proxy.since(mark)
    assert [t["function"]["name"] for t in ex.body["tools"]] == [
        "file_search",
        "builtin_file_search",
    ]
    response = items[-1]
    assert isinstance(response, ModelResponse)
    assert response.finish_reason == "tool_calls"
    upstream_calls = ex.tool_calls()
    assert [c.id for c in response.tool_calls] == [u["id"] for u in upstream_calls]
    by_type = {c.type: c for c in response.tool_calls}
    assert set(by_type) == {"function", "file_search"}
    assert "path" in json.loads(by_type["function"].arguments)
    assert "query" in json.loads(by_type["file_search"].arguments)
    # Every call was announced by a first delta carrying its id, type and name.
    firsts = [d for d in items if isinstance(d, ToolCallDelta) and d.id]
    assert [(d.id, d.type, d.name) for d in firsts] == [
        (c.id, c.type, c.name) for c in response.tool_calls
    ]
    assert response.usage.prompt_tokens == ex.usage()["prompt_tokens"]


def test_provider_streams_text_deltas_then_one_response(upstream, proxy: FaultProxy) -> None:
    request = ModelRequest(
        model="gpt-4o",
        messages=[
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(
                role="user",
                content="Look at the data",
                attachments=[
                    {
                        "file_id": "file-1",
                        "filename": "data.csv",
                        "tools": [{"type": "code_interpreter"}],
                    }
                ],
            ),
        ],
        temperature=0.3,
        top_p=0.9,
        max_completion_tokens=200,
    )
    mark = proxy.mark()
    items = _collect(_chat_model(proxy), request)
    [ex] = proxy.since(mark)
    assert ex.body["messages"][1]["content"] == (
        "Look at the data\n\n[attached: data.csv (code_interpreter)]"
    )
    assert ex.body["temperature"] == 0.3 and ex.body["top_p"] == 0.9
    assert ex.body["max_completion_tokens"] == 200
    deltas = [i for i in items if isinstance(i, TextDelta)]
    assert len(deltas) == len(ex.text_pieces()) > 1
    assert isinstance(items[-1], ModelResponse)
    assert sum(isinstance(i, ModelResponse) for i in items) == 1
    assert items[-1].text == "".join(d.text for d in deltas) == ex.reply_text()


def test_provider_error_never_carries_the_key(upstream, proxy: FaultProxy) -> None:
    proxy.faults.append(
        Fault(401, {"error": {"message": f"Bad key {UPSTREAM_KEY} (Bearer {UPSTREAM_KEY})"}})
    )
    request = ModelRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="hi")])
    with pytest.raises(ModelError) as err:
        _collect(_chat_model(proxy, max_retries=0), request)
    assert err.value.code == "server_error"
    assert UPSTREAM_KEY not in err.value.message and UPSTREAM_KEY not in str(err.value)
    assert "401" in err.value.message


def test_provider_gives_up_on_a_long_retry_after(upstream, proxy: FaultProxy) -> None:
    proxy.faults.append(Fault(429, {"error": {"message": "daily quota"}}, {"retry-after": "3600"}))
    mark = proxy.mark()
    request = ModelRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="hi")])
    with pytest.raises(ModelError) as err:
        _collect(_chat_model(proxy), request)
    assert err.value.code == "rate_limit_exceeded"
    assert "3600 s" in err.value.message
    assert len(proxy.since(mark)) == 1


def test_provider_drops_a_parameter_the_upstream_rejects(upstream, proxy: FaultProxy) -> None:
    proxy.faults.append(
        Fault(400, {"error": {"message": "Unrecognized request argument supplied: stream_options"}})
    )
    model = _chat_model(proxy)
    request = ModelRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="hi there")])
    mark = proxy.mark()
    items = _collect(model, request)
    rejected, ok = proxy.since(mark)
    assert "stream_options" in rejected.body and "stream_options" not in ok.body
    assert ok.status == 200
    response = items[-1]
    assert isinstance(response, ModelResponse) and response.text == ok.reply_text()
    # Without the upstream's counts the usage is estimated, never zero.
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0
    mark = proxy.mark()
    _collect(model, request)
    [again] = proxy.since(mark)
    assert "stream_options" not in again.body


def _sse(*events: dict[str, Any]) -> Fault:
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return Fault(200, raw=body.encode(), headers={"content-type": "text/event-stream"})


def test_provider_retries_an_error_event_that_opens_the_stream(upstream, proxy: FaultProxy) -> None:
    # OpenRouter / LiteLLM style: HTTP 200, then an error event instead of the reply.
    proxy.faults.append(_sse({"error": {"message": "Provider overloaded", "code": 502}}))
    mark = proxy.mark()
    request = ModelRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="hi")])
    items = _collect(_chat_model(proxy), request)
    failed, ok = proxy.since(mark)
    assert "Provider overloaded" in failed.response
    assert ok.status == 200 and isinstance(items[-1], ModelResponse)
    assert items[-1].text == ok.reply_text()


def test_provider_fails_on_an_error_after_partial_output(upstream, proxy: FaultProxy) -> None:
    piece = {"choices": [{"index": 0, "delta": {"content": "Half a"}, "finish_reason": None}]}
    proxy.faults.append(_sse(piece, {"error": {"message": "worker died"}}))
    mark = proxy.mark()
    request = ModelRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="hi")])
    seen: list[Any] = []

    async def go() -> None:
        model = _chat_model(proxy)
        try:
            async for item in model.stream(request):
                seen.append(item)
        finally:
            await model.aclose()

    with pytest.raises(ModelError) as err:
        asyncio.run(go())
    # Text already passed on cannot be taken back: no retry, a clear error.
    assert seen == [TextDelta("Half a")]
    assert err.value.code == "server_error" and "worker died" in err.value.message
    assert len(proxy.since(mark)) == 1


def test_provider_takes_a_whole_completion_from_an_upstream_that_ignores_stream(
    upstream, proxy: FaultProxy
) -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "abc123XYZ",  # Mistral-style id: kept
                            "type": "function",
                            "function": {"name": "code_interpreter", "arguments": '{"code": "1"}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }
    proxy.faults.append(Fault(200, completion))
    request = ModelRequest(
        model="gpt-4o",
        messages=[ChatMessage(role="user", content="compute")],
        tools=[ToolDef(type="code_interpreter", name="code_interpreter")],
    )
    response = _collect(_chat_model(proxy), request)[-1]
    assert isinstance(response, ModelResponse)
    [call] = response.tool_calls
    assert (call.id, call.type, call.arguments) == (
        "abc123XYZ",
        "code_interpreter",
        '{"code": "1"}',
    )
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (11, 7)


def test_provider_passes_a_refusal_on_as_the_reply(upstream, proxy: FaultProxy) -> None:
    piece = {"choices": [{"index": 0, "delta": {"refusal": "I can't help with that."}}]}
    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    proxy.faults.append(_sse(piece, end))
    request = ModelRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="hi")])
    items = _collect(_chat_model(proxy), request)
    assert items[0] == TextDelta("I can't help with that.")
    assert items[-1].text == "I can't help with that."


# --- tool calls written as text (--upstream-tool-call-format json-in-text) -----------------

RECORDED_TEXT_CALLS = json.loads(
    (Path(__file__).parent / "data/smollm2_text_tool_calls.json").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def text_tools_api(server_factory, proxy: FaultProxy) -> openai.OpenAI:
    server = server_factory(
        "--model-provider",
        "chat",
        "--upstream-base-url",
        proxy.base_url,
        "--upstream-tool-call-format",
        "json-in-text",
        persistent=False,
        env={"ORCHESTRATOR_UPSTREAM_API_KEY": UPSTREAM_KEY},
    )
    return server.client()


def test_a_call_written_as_text_by_a_real_model_requires_action(
    text_tools_api: openai.OpenAI, proxy: FaultProxy
) -> None:
    # SmolLM2's recorded answer (a call written as JSON text, finish_reason "stop"),
    # replayed by the proxy as the upstream's reply.
    case = RECORDED_TEXT_CALLS["cases"]["weather_seoul"]
    sse = "".join(f"data: {d}\n\n" for d in case["sse"])
    proxy.faults.clear()
    proxy.faults.append(Fault(200, raw=sse.encode(), headers={"content-type": "text/event-stream"}))
    api = text_tools_api
    [weather] = case["functions"]
    mark = proxy.mark()
    thread, run = run_once(api, case["user"], tools=[{"type": "function", "function": weather}])
    [asked] = proxy.since(mark)
    assert "tools" not in asked.body and "tool_choice" not in asked.body
    assert '"name": "get_weather"' in asked.body["messages"][0]["content"]
    assert run.status == "requires_action"
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Location 1"}
    # No text message was made of the call.
    assert api.beta.threads.messages.list(thread.id, run_id=run.id).data == []

    # The tool output goes back as text; the real upstream (our local model) answers.
    mark = proxy.mark()
    run = api.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": '{"temp_c": 18}'}],
        poll_interval_ms=50,
    )
    assert run.status == "completed", run.last_error
    [answered] = proxy.since(mark)
    sent = answered.body["messages"]
    assert json.loads(sent[-2]["content"]) == {
        "name": "get_weather",
        "arguments": {"location": "Location 1"},
    }
    assert sent[-1] == {"role": "user", "content": 'Tool result of get_weather:\n{"temp_c": 18}'}
    assert not any(m["role"] == "tool" or m.get("tool_calls") for m in sent)
