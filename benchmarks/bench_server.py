"""Embedded server figures (printed, not asserted).

    .venv/bin/python benchmarks/bench_server.py [--requests 300] [--runs 60] [--concurrent 50]

Starts ``orchestrator serve`` as its own process (SQLite file in a temp dir, the
local model), then measures through the real ``openai`` SDK over HTTP:

1. Requests per second, one client, sequential: create/retrieve/list of assistants,
   threads and messages, with ``GET /health`` (no store, no auth) side by side as
   the HTTP floor.
2. End-to-end latency of a local-model run, create to completed: polling
   (``create_and_poll``, which honours ``openai-poll-after-ms``), streaming
   (``runs.stream`` until done) and raw SSE (``runs.create(stream=True)``
   consumed by httpx), median and p95, with the health round trip as baseline.
3. N concurrent runs (each on its own thread, one client thread each): all
   completed? wall time.
4. Server RSS (``/proc/<pid>/status`` VmRSS) idle, and the peak while 3. runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _common import machine, rate, row, rss_mb, server, stats

from orchestrator.testing import ServerProcess


def requests_per_second(srv: ServerProcess, n: int) -> None:
    c = srv.client()
    http = httpx.Client()
    print(f"\n1. requests per second (one client, sequential, n={n})")
    health = rate(n, lambda i: http.get(f"{srv.root_url}/health"))
    row("GET /health (HTTP floor)", f"{health:8.0f} req/s")
    ids: list[str] = []
    figures = [
        ("assistants.create", lambda i: ids.append(c.beta.assistants.create(model="gpt-4o").id)),
        ("assistants.retrieve", lambda i: c.beta.assistants.retrieve(ids[i])),
        ("assistants.list (limit 20)", lambda i: c.beta.assistants.list(limit=20)),
    ]
    threads: list[str] = []
    figures += [
        ("threads.create", lambda i: threads.append(c.beta.threads.create().id)),
        ("threads.retrieve", lambda i: c.beta.threads.retrieve(threads[i])),
    ]
    messages: list[str] = []
    figures += [
        (
            "messages.create",
            lambda i: messages.append(
                c.beta.threads.messages.create(threads[0], role="user", content=f"m{i}").id
            ),
        ),
        (
            "messages.retrieve",
            lambda i: c.beta.threads.messages.retrieve(messages[i], thread_id=threads[0]),
        ),
        ("messages.list (limit 20)", lambda i: c.beta.threads.messages.list(threads[0])),
    ]
    for name, fn in figures:
        r = rate(n, fn)
        row(name, f"{r:8.0f} req/s", f"({r / health:4.2f} x health)")


def run_latency(srv: ServerProcess, n: int) -> None:
    c = srv.client()
    assistant = c.beta.assistants.create(model="gpt-4o", name="bench")
    http = httpx.Client(headers={"Authorization": f"Bearer {srv.api_key}"}, timeout=30)

    def fresh() -> str:
        return c.beta.threads.create(messages=[{"role": "user", "content": "3x + 11 = 14"}]).id

    health, polling, streaming, raw = [], [], [], []
    for _ in range(n):
        t = time.perf_counter()
        http.get(f"{srv.root_url}/health")
        health.append(time.perf_counter() - t)

        thread = fresh()
        t = time.perf_counter()
        run = c.beta.threads.runs.create_and_poll(thread_id=thread, assistant_id=assistant.id)
        polling.append(time.perf_counter() - t)
        assert run.status == "completed", run.status

        thread = fresh()
        t = time.perf_counter()
        with c.beta.threads.runs.stream(thread_id=thread, assistant_id=assistant.id) as s:
            s.until_done()
        streaming.append(time.perf_counter() - t)

        thread = fresh()
        t = time.perf_counter()
        with http.stream(
            "POST",
            f"{srv.root_url}/v1/threads/{thread}/runs",
            json={"assistant_id": assistant.id, "stream": True},
        ) as r:
            body = r.read()
        raw.append(time.perf_counter() - t)
        assert body.endswith(b"data: [DONE]\n\n")
    print(f"\n2. local-model run, create to completed (n={n})")
    row("GET /health (baseline)", stats(health, 1))
    row("create_and_poll", stats(polling, 1))
    row("runs.stream (SDK handler)", stats(streaming, 1))
    row("stream=True, raw SSE (httpx)", stats(raw, 1))
    print(
        f"   streaming / polling: {statistics.median(streaming) / statistics.median(polling):.2f}"
    )


def concurrent_runs(srv: ServerProcess, n: int) -> None:
    c = srv.client()
    assistant = c.beta.assistants.create(model="gpt-4o", name="bench-concurrent")
    threads = [
        c.beta.threads.create(messages=[{"role": "user", "content": f"question {i}"}]).id
        for i in range(n)
    ]
    peak = [rss_mb(srv.pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak.append(rss_mb(srv.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    clients = [srv.client() for _ in range(n)]

    def one(i: int) -> str:
        return (
            clients[i]
            .beta.threads.runs.create_and_poll(thread_id=threads[i], assistant_id=assistant.id)
            .status
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        statuses = list(pool.map(one, range(n)))
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    done = statuses.count("completed")
    print(f"\n3. {n} concurrent runs (create_and_poll each, {n} client threads)")
    print(f"   completed {done}/{n}   wall {wall * 1000:.0f} ms   ({n / wall:.0f} runs/s)")
    print(f"\n4. server RSS: peak under that load {max(peak):.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--concurrent", type=int, default=50)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as d, server(db_path=Path(d) / "server.sqlite3") as srv:
        time.sleep(0.5)
        print(f"server RSS idle (just started): {rss_mb(srv.pid):.1f} MB")
        requests_per_second(srv, args.requests)
        run_latency(srv, args.runs)
        print(f"\nserver RSS idle (after 1.-2.): {rss_mb(srv.pid):.1f} MB")
        concurrent_runs(srv, args.concurrent)


if __name__ == "__main__":
    main()
