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
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
from _common import DISPLAY_QUIZ, ratio, row, server, stats, time_it

from orchestrator.server.providers.base import ChatMessage, ModelRequest, ToolCall, ToolDef
from orchestrator.server.providers.local import LocalModel
from orchestrator.server.providers.script import ScriptQueue, ScriptStep
from orchestrator.server.store import Store

WIDTH = 37
TOOLS = [
    ToolDef(
        "function",
        DISPLAY_QUIZ["name"],
        DISPLAY_QUIZ.get("description", ""),
        DISPLAY_QUIZ["parameters"],
    ),
    ToolDef("code_interpreter", "code_interpreter"),
    ToolDef("file_search", "file_search"),
]
SEARCH_OUTPUT = "\n".join(
    f"【0:{n}†notes-{n}.md】 (score 0.{90 - n})\n"
    + "Photosynthesis turns light into sugar. " * 20
    + "\n"
    for n in range(5)
)


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
        row(f"rule {name}", stats(time_it(rounds, fn), 3), width=WIDTH, indent=2)


def over_http(rounds: int) -> None:
    with server() as srv:
        # One connection for the SDK and the baseline, so both pay the same HTTP cost.
        http = httpx.Client(timeout=30)
        client = openai.OpenAI(
            base_url=srv.base_url, api_key=srv.api_key, http_client=http, max_retries=0
        )
        messages = [
            {"role": "user", "content": "Explain photosynthesis in a few words, please. " * 5}
        ]
        tools = [{"type": "function", "function": DISPLAY_QUIZ}]

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
        health = time_it(rounds, lambda: http.get(f"{srv.root_url}/health"))
        row("GET /health (baseline)", stats(health, 3), width=WIDTH, indent=2)
        plain = time_it(
            rounds, lambda: client.chat.completions.create(model="gpt-4o", messages=messages)
        )
        row("non-stream reply", stats(plain, 3), ratio(plain, health), width=WIDTH, indent=2)
        quiz = [{"role": "user", "content": "display_quiz about photosynthesis"}]
        called = time_it(
            rounds,
            lambda: client.chat.completions.create(model="gpt-4o", messages=quiz, tools=tools),
        )
        row("non-stream display_quiz call", stats(called, 3), width=WIDTH, indent=2)
        first_and_total()
        pairs = [first_and_total() for _ in range(rounds)]
        row("stream: first content chunk", stats([p[0] for p in pairs], 3), width=WIDTH, indent=2)
        row("stream: whole reply", stats([p[1] for p in pairs], 3), width=WIDTH, indent=2)


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
