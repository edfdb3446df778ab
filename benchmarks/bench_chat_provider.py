"""Figures for the ``chat`` model provider (printed, not asserted).

    .venv/bin/python benchmarks/bench_chat_provider.py [--rounds 100] [--concurrent 20]

Three ``orchestrator serve`` processes: ``local`` (the local model, the baseline),
``upstream`` (the same, serving ``/v1/chat/completions``) and ``chat``
(``--model-provider chat`` pointed at ``upstream``). The same runs are timed on
``local`` and on ``chat`` side by side, so the ratio is what forwarding generation
over ``/v1/chat/completions`` costs on top of the engine (one extra HTTP hop, request
mapping, SSE parsing):

1. :class:`ChatModel` in process against ``upstream`` beside a bare ``httpx`` streaming
   POST of the same body (the provider's own overhead over the HTTP call);
2. a plain run, create to ``completed`` (polling, ``poll_interval_ms=10``);
3. a streamed run: time to the first ``thread.message.delta`` and to the end;
4. the ``display_quiz`` round trip: create, ``requires_action``, submit, ``completed``;
5. N runs at once on one server: wall time, all completed?
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
from _common import DISPLAY_QUIZ, ratio, row, server, stats, time_it

from orchestrator.server.config import ServerConfig, UpstreamConfig
from orchestrator.server.providers.base import ChatMessage, ModelRequest
from orchestrator.server.providers.chat import ChatModel
from orchestrator.server.providers.chat_mapping import build_payload, wire_names
from orchestrator.testing import ServerProcess

UPSTREAM_KEY = "sk-bench-upstream"
WIDTH = 36
QUESTION = "Explain how to solve 3x + 11 = 14, step by step, in a few short sentences. " * 3


def side_by_side(local: list[float], chat: list[float]) -> None:
    row("local model (baseline)", stats(local), width=WIDTH)
    row("chat provider -> upstream", stats(chat), ratio(chat, local), width=WIDTH)


def provider_in_process(upstream: ServerProcess, rounds: int) -> None:
    request = ModelRequest("gpt-4o", [ChatMessage("user", QUESTION)])
    config = ServerConfig(
        model_provider="chat",
        upstream=UpstreamConfig(base_url=upstream.base_url, api_key=UPSTREAM_KEY),
    )
    payload = build_payload(request, "gpt-4o", wire_names(request))
    url = upstream.base_url + "/chat/completions"
    headers = {"Authorization": f"Bearer {UPSTREAM_KEY}"}

    async def go() -> tuple[list[float], list[float]]:
        model = ChatModel(config)
        bare = httpx.AsyncClient(timeout=60, headers=headers)

        async def via_provider() -> None:
            async for _ in model.stream(request):
                pass

        async def via_httpx() -> None:
            async with bare.stream("POST", url, json=payload) as r:
                async for _ in r.aiter_lines():
                    pass

        out: list[list[float]] = [[], []]
        for fn, samples in ((via_provider, out[0]), (via_httpx, out[1])):
            await fn()
            for _ in range(rounds):
                start = time.perf_counter()
                await fn()
                samples.append(time.perf_counter() - start)
        await model.aclose()
        await bare.aclose()
        return out[0], out[1]

    provider, bare = asyncio.run(go())
    print(f"1. one model request, streamed reply, in process ({rounds} rounds)")
    row("httpx POST + read SSE (baseline)", stats(bare), width=WIDTH)
    row("ChatModel.stream", stats(provider), ratio(provider, bare), width=WIDTH)


def runs(servers: dict[str, ServerProcess], rounds: int) -> None:
    clients = {name: s.client() for name, s in servers.items()}
    setup = {}
    for name, c in clients.items():
        plain = c.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
        quiz = c.beta.assistants.create(
            model="gpt-4o", tools=[{"type": "function", "function": DISPLAY_QUIZ}]
        )
        setup[name] = (plain.id, quiz.id)

    def plain_run(name: str) -> Callable[[], None]:
        c, (asst, _) = clients[name], setup[name]

        def go() -> None:
            run = c.beta.threads.create_and_run_poll(
                assistant_id=asst,
                thread={"messages": [{"role": "user", "content": QUESTION}]},
                poll_interval_ms=10,
            )
            assert run.status == "completed", run.last_error

        return go

    def streamed(name: str) -> tuple[float, float]:
        c, (asst, _) = clients[name], setup[name]
        start = time.perf_counter()
        first = 0.0
        with c.beta.threads.create_and_run(
            assistant_id=asst,
            thread={"messages": [{"role": "user", "content": QUESTION}]},
            stream=True,
        ) as stream:
            for event in stream:
                if event.event == "thread.message.delta" and not first:
                    first = time.perf_counter() - start
        return first, time.perf_counter() - start

    def quiz_round_trip(name: str) -> Callable[[], None]:
        c, (_, asst) = clients[name], setup[name]

        def go() -> None:
            run = c.beta.threads.create_and_run_poll(
                assistant_id=asst,
                thread={"messages": [{"role": "user", "content": "Quiz me with display_quiz."}]},
                poll_interval_ms=10,
            )
            assert run.status == "requires_action", run.last_error
            [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
            run = c.beta.threads.runs.submit_tool_outputs_and_poll(
                run_id=run.id,
                thread_id=run.thread_id,
                tool_outputs=[{"tool_call_id": call.id, "output": "[]"}],
                poll_interval_ms=10,
            )
            assert run.status == "completed", run.last_error

        return go

    print(f"\n2. plain run, create to completed, polling ({rounds} rounds)")
    side_by_side(time_it(rounds, plain_run("local")), time_it(rounds, plain_run("chat")))

    print(f"\n3. streamed run ({rounds} rounds)")
    for name in ("local", "chat"):
        streamed(name)
        pairs = [streamed(name) for _ in range(rounds)]
        label = "local model" if name == "local" else "chat provider"
        row(f"{label}: first text delta", stats([p[0] for p in pairs]), width=WIDTH)
        row(f"{label}: whole run", stats([p[1] for p in pairs]), width=WIDTH)

    print(f"\n4. display_quiz round trip ({rounds} rounds)")
    side_by_side(
        time_it(rounds, quiz_round_trip("local")), time_it(rounds, quiz_round_trip("chat"))
    )


def concurrent(servers: dict[str, ServerProcess], n: int) -> None:
    print(f"\n5. {n} runs at once")
    for name in ("local", "chat"):
        c = servers[name].client()
        asst = c.beta.assistants.create(model="gpt-4o").id

        def one(i: int, c: openai.OpenAI = c, asst: str = asst) -> str:
            return c.beta.threads.create_and_run_poll(
                assistant_id=asst,
                thread={"messages": [{"role": "user", "content": f"run {i}: {QUESTION}"}]},
                poll_interval_ms=20,
            ).status

        start = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            statuses = list(pool.map(one, range(n)))
        wall = time.perf_counter() - start
        done = statuses.count("completed")
        print(f"   {name:8s} wall {wall * 1000:8.1f} ms   completed {done}/{n}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(server(key=UPSTREAM_KEY))
        servers = {
            "local": stack.enter_context(server()),
            "chat": stack.enter_context(
                server(
                    "--model-provider",
                    "chat",
                    "--upstream-base-url",
                    upstream.base_url,
                    "--upstream-api-key",
                    UPSTREAM_KEY,
                )
            ),
        }
        provider_in_process(upstream, args.rounds)
        runs(servers, args.rounds)
        concurrent(servers, args.concurrent)


if __name__ == "__main__":
    main()
