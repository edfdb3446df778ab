"""Figures for the local model and ``/v1/chat/completions`` (printed, not asserted).

    .venv/bin/python benchmarks/bench_local_model.py [--rounds 200]

Part 1 times :class:`LocalModel` in process, one request per policy rule (a full
``stream()`` consumed, median and p95 over the rounds). Part 2 starts an
``orchestrator serve`` process and times ``POST /v1/chat/completions`` over HTTP with
the openai SDK, non-streamed and streamed (time to first chunk and to the end), beside
``GET /health`` on the same connection as the baseline for the HTTP round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai

from orchestrator.server.models.base import ChatMessage, ModelRequest, ToolCall, ToolDef
from orchestrator.server.models.local import LocalModel
from orchestrator.server.models.script import ScriptQueue, ScriptStep
from orchestrator.server.store import Store

ROOT = Path(__file__).resolve().parents[1]
QUIZ = json.loads((ROOT / "assistants/functions/display_quiz.json").read_text())
TOOLS = [
    ToolDef("function", QUIZ["name"], QUIZ.get("description", ""), QUIZ["parameters"]),
    ToolDef("code_interpreter", "code_interpreter"),
    ToolDef("file_search", "file_search"),
]
SEARCH_OUTPUT = "\n".join(
    f"【0:{n}†notes-{n}.md】 (score 0.{90 - n})\n"
    + "Photosynthesis turns light into sugar. " * 20
    + "\n"
    for n in range(5)
)


def stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):7.3f} ms   p95 {p95:7.3f} ms"


def time_it(rounds: int, fn: Callable[[], Any]) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def in_process(rounds: int) -> None:
    store = Store(None)
    model = LocalModel(store)
    queue = ScriptQueue(store)

    def consume(req: ModelRequest) -> None:
        async def go() -> None:
            async for _ in model.stream(req):
                pass

        asyncio.run(go())

    def req(text: str, **kw: Any) -> ModelRequest:
        return ModelRequest("gpt-4o", [ChatMessage("user", text)], tools=TOOLS, **kw)

    search_call = ToolCall(
        "call_s", "file_search", "file_search", '{"query": "photosynthesis light"}'
    )
    after_search = req("q")
    after_search.messages += [
        ChatMessage("assistant", tool_calls=[search_call]),
        ChatMessage("tool", SEARCH_OUTPUT, tool_call_id="call_s"),
    ]

    def scripted() -> None:
        queue.push("thread_b", [ScriptStep(reply="recorded reply")])
        consume(req("hi", thread_id="thread_b"))

    cases: list[tuple[str, Callable[[], None]]] = [
        ("1 script step (push + pop)", scripted),
        ("2 reply quoting file search", lambda: consume(after_search)),
        ("3 display_quiz arguments", lambda: consume(req("display_quiz about photosynthesis"))),
        ("4 fenced code", lambda: consume(req("```python\nprint(1)\n```"))),
        ("5 file search query", lambda: consume(req("what do the notes say?"))),
        (
            "6 echo (no tools)",
            lambda: consume(ModelRequest("m", [ChatMessage("user", "hello " * 50)])),
        ),
    ]
    print(f"LocalModel.stream in process ({rounds} rounds each)")
    for name, fn in cases:
        print(f"  rule {name:32s} {stats(time_it(rounds, fn))}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def over_http(rounds: int) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "serve",
            "--port",
            str(port),
            "--db",
            ":memory:",
            "--api-key",
            "bench",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        http = httpx.Client(timeout=30)
        client = openai.OpenAI(
            base_url=f"{base}/v1", api_key="bench", http_client=http, max_retries=0
        )
        messages = [
            {"role": "user", "content": "Explain photosynthesis in a few words, please. " * 5}
        ]
        tools = [{"type": "function", "function": QUIZ}]

        def first_and_total() -> tuple[float, float]:
            start = time.perf_counter()
            first = 0.0
            for chunk in client.chat.completions.create(
                model="gpt-4o", messages=messages, stream=True
            ):
                if not first and chunk.choices and chunk.choices[0].delta.content:
                    first = time.perf_counter() - start
            return first, time.perf_counter() - start

        print(f"\nPOST /v1/chat/completions over HTTP, SDK client ({rounds} rounds each)")
        health = time_it(rounds, lambda: http.get(f"{base}/health"))
        print(f"  {'GET /health (baseline)':34s} {stats(health)}")
        plain = time_it(
            rounds, lambda: client.chat.completions.create(model="gpt-4o", messages=messages)
        )
        print(
            f"  {'non-stream reply':34s} {stats(plain)}   ({statistics.median(plain) / statistics.median(health):.1f}x baseline)"
        )
        quiz = [{"role": "user", "content": "display_quiz about photosynthesis"}]
        called = time_it(
            rounds,
            lambda: client.chat.completions.create(model="gpt-4o", messages=quiz, tools=tools),
        )
        print(f"  {'non-stream display_quiz call':34s} {stats(called)}")
        first_and_total()
        pairs = [first_and_total() for _ in range(rounds)]
        print(f"  {'stream: first content chunk':34s} {stats([p[0] for p in pairs])}")
        print(f"  {'stream: whole reply':34s} {stats([p[1] for p in pairs])}")
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    in_process(args.rounds)
    over_http(args.rounds)


if __name__ == "__main__":
    main()
