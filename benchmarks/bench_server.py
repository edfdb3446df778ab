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
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai

warnings.filterwarnings("ignore", category=DeprecationWarning)

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchestrator",
                "serve",
                "--port",
                str(self.port),
                "--db",
                str(data_dir / "server.sqlite3"),
                "--api-key",
                KEY,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.root}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.root}/v1", api_key=KEY, max_retries=0)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def rate(n: int, fn: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {pct(values, 0.95) * 1000:7.1f} ms"


def requests_per_second(srv: Server, n: int) -> None:
    c = srv.client()
    http = httpx.Client()
    print(f"\n1. requests per second (one client, sequential, n={n})")
    health = rate(n, lambda i: http.get(f"{srv.root}/health"))
    print(f"   {'GET /health (HTTP floor)':32s} {health:8.0f} req/s")
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
        print(f"   {name:32s} {r:8.0f} req/s   ({r / health:4.2f} x health)")


def run_latency(srv: Server, n: int) -> None:
    c = srv.client()
    assistant = c.beta.assistants.create(model="gpt-4o", name="bench")
    http = httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=30)

    def fresh() -> str:
        return c.beta.threads.create(messages=[{"role": "user", "content": "3x + 11 = 14"}]).id

    health, polling, streaming, raw = [], [], [], []
    for _ in range(n):
        t = time.perf_counter()
        http.get(f"{srv.root}/health")
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
            f"{srv.root}/v1/threads/{thread}/runs",
            json={"assistant_id": assistant.id, "stream": True},
        ) as r:
            body = r.read()
        raw.append(time.perf_counter() - t)
        assert body.endswith(b"data: [DONE]\n\n")
    print(f"\n2. local-model run, create to completed (n={n})")
    print(f"   {'GET /health (baseline)':32s} {ms(health)}")
    print(f"   {'create_and_poll':32s} {ms(polling)}")
    print(f"   {'runs.stream (SDK handler)':32s} {ms(streaming)}")
    print(f"   {'stream=True, raw SSE (httpx)':32s} {ms(raw)}")
    print(
        f"   streaming / polling: {statistics.median(streaming) / statistics.median(polling):.2f}"
    )


def concurrent_runs(srv: Server, n: int) -> None:
    c = srv.client()
    assistant = c.beta.assistants.create(model="gpt-4o", name="bench-concurrent")
    threads = [
        c.beta.threads.create(messages=[{"role": "user", "content": f"question {i}"}]).id
        for i in range(n)
    ]
    peak = [srv.rss_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak.append(srv.rss_mb())
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
    print(f"cpus: {os.cpu_count()}   load average: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as d:
        srv = Server(Path(d))
        try:
            time.sleep(0.5)
            print(f"server RSS idle (just started): {srv.rss_mb():.1f} MB")
            requests_per_second(srv, args.requests)
            run_latency(srv, args.runs)
            print(f"\nserver RSS idle (after 1.-2.): {srv.rss_mb():.1f} MB")
            concurrent_runs(srv, args.concurrent)
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
