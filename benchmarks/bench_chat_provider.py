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
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai

from orchestrator.server.config import ServerConfig, UpstreamConfig
from orchestrator.server.models.base import ChatMessage, ModelRequest
from orchestrator.server.models.chat import ChatModel
from orchestrator.server.models.chat_mapping import build_payload, wire_names

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench"
UPSTREAM_KEY = "sk-bench-upstream"
QUIZ = json.loads((ROOT / "assistants/functions/display_quiz.json").read_text())
QUESTION = "Explain how to solve 3x + 11 = 14, step by step, in a few short sentences. " * 3


def stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms"


def ratio(a: list[float], b: list[float]) -> str:
    return f"{statistics.median(a) / statistics.median(b):5.2f}x"


def time_it(rounds: int, fn: Callable[[], Any]) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *args: str, key: str = KEY) -> None:
        self.port = free_port()
        self.key = key
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchestrator",
                "serve",
                "--port",
                str(self.port),
                "--db",
                ":memory:",
                "--api-key",
                key,
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=self.key,
            http_client=httpx.Client(timeout=60),
            max_retries=0,
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def provider_in_process(upstream: Server, rounds: int) -> None:
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
    print(f"   {'httpx POST + read SSE (baseline)':36s} {stats(bare)}")
    print(f"   {'ChatModel.stream':36s} {stats(provider)}   {ratio(provider, bare)}")


def runs(servers: dict[str, Server], rounds: int) -> None:
    clients = {name: s.client() for name, s in servers.items()}
    setup = {}
    for name, c in clients.items():
        plain = c.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
        quiz = c.beta.assistants.create(
            model="gpt-4o", tools=[{"type": "function", "function": QUIZ}]
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
    local, chat = time_it(rounds, plain_run("local")), time_it(rounds, plain_run("chat"))
    print(f"   {'local model (baseline)':36s} {stats(local)}")
    print(f"   {'chat provider -> upstream':36s} {stats(chat)}   {ratio(chat, local)}")

    print(f"\n3. streamed run ({rounds} rounds)")
    for name in ("local", "chat"):
        streamed(name)
        pairs = [streamed(name) for _ in range(rounds)]
        label = "local model" if name == "local" else "chat provider"
        print(f"   {label + ': first text delta':36s} {stats([p[0] for p in pairs])}")
        print(f"   {label + ': whole run':36s} {stats([p[1] for p in pairs])}")

    print(f"\n4. display_quiz round trip ({rounds} rounds)")
    local, chat = (
        time_it(rounds, quiz_round_trip("local")),
        time_it(rounds, quiz_round_trip("chat")),
    )
    print(f"   {'local model (baseline)':36s} {stats(local)}")
    print(f"   {'chat provider -> upstream':36s} {stats(chat)}   {ratio(chat, local)}")


def concurrent(servers: dict[str, Server], n: int) -> None:
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
    upstream = Server(key=UPSTREAM_KEY)
    servers = {
        "local": Server(),
        "chat": Server(
            "--model-provider",
            "chat",
            "--upstream-base-url",
            upstream.base_url,
            "--upstream-api-key",
            UPSTREAM_KEY,
        ),
    }
    try:
        provider_in_process(upstream, args.rounds)
        runs(servers, args.rounds)
        concurrent(servers, args.concurrent)
    finally:
        for s in (upstream, *servers.values()):
            s.stop()


if __name__ == "__main__":
    main()
