"""Scaling: the cost of a request as a thread or a reply grows (issue 15 rows 1-3).

Each row runs at three sizes and prints the CPU time and the ratio between sizes
(×10 the size should cost about ×10 when the path is linear, ×100 when quadratic):

- ``max_prompt_tokens`` truncation of an N-message thread (``prompt.truncate``);
- ``truncate_tokens`` of an N-word local-model reply cut near its end;
- ``messages.list(run_id=...)`` on an N-message thread (store), beside the unfiltered list.

And the server-side rows, measured on ``orchestrator serve`` processes through the SDK
(server CPU from ``/proc/<pid>/stat``, so client load does not count):

- one streamed run on an N-message thread: server CPU per run, event rows and bytes
  each finished run leaves in SQLite, and the event-loop stall probe: the slowest
  ``GET /health`` answered while those runs execute;
- file search over N chunks (in process): p95 of ``search()`` and the database size
  over the indexed text;
- N concurrent streamed runs: p50 and p99 of their create-to-done latency;
- CPU per CRUD request (POST and GET of an assistant) beside a bare FastAPI app on the
  same uvicorn stack and the raw SQLite work of the same request (the floors).

Run: ``.venv/bin/python benchmarks/bench_scaling.py [--sizes 100,1000,10000]
[--chunks 1000,10000,100000] [--concurrent 20,50,200] [--only rows,server,search,crud]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
from _common import KEY, machine, p95_ms, percentile, server

from orchestrator.server import prompt
from orchestrator.server.config import ServerConfig
from orchestrator.server.context import ServerContext
from orchestrator.server.objects import new_message, new_thread, text_part
from orchestrator.server.providers.base import ChatMessage
from orchestrator.server.providers.local import truncate_tokens
from orchestrator.server.providers.tokens import count_tokens
from orchestrator.server.services import vector_stores as vsf
from orchestrator.server.services.files import store_file
from orchestrator.server.store import ListParams, Store
from orchestrator.server.tools.file_search import search
from orchestrator.testing import free_port

warnings.filterwarnings("ignore", category=DeprecationWarning)


def cpu_ms(fn: Callable[[], Any], rounds: int = 3) -> float:
    """Best-of-``rounds`` process CPU time of ``fn``, in ms (CPU, not wall: load-proof)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best * 1000


def truncation(n: int) -> float:
    history = [ChatMessage(role="user", content=f"message {i} about the weather") for i in range(n)]
    system = [ChatMessage(role="system", content="Answer briefly.")]
    return cpu_ms(lambda: prompt.truncate(history, system, [], None, 50), rounds=1)


def reply_cut(n: int) -> float:
    text = "lorem ipsum dolorsitamet " * (n // 3)
    limit = count_tokens(text) - 3
    return cpu_ms(lambda: truncate_tokens(text, limit), rounds=1)


def run_filter(n: int) -> tuple[float, float]:
    store = Store(None)
    for i in range(n):
        store.insert("message", {"id": f"msg_{i:06}", "run_id": f"run_{i // 2}"}, "thread_a")
    target = f"run_{n // 4}"
    params = ListParams(limit=20)
    filtered = (
        cpu_ms(
            lambda: [
                store.list("message", params, parent="thread_a", where={"run_id": target})
                for _ in range(20)
            ]
        )
        / 20
    )
    unfiltered = (
        cpu_ms(lambda: [store.list("message", params, parent="thread_a") for _ in range(20)]) / 20
    )
    return filtered, unfiltered


def server_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seeded_thread(db: Path, n: int) -> str:
    """A state database holding one thread of ``n`` messages (written directly: fast)."""
    store = Store(db)
    thread = store.insert("thread", new_thread({}, {}))
    with store.transaction() as conn:
        for i in range(n):
            role = "user" if i % 2 == 0 else "assistant"
            m = new_message(thread["id"], role, [text_part(f"message {i} about the weather")])
            conn.execute(
                "INSERT INTO objects (id, kind, parent, data) VALUES (?, 'message', ?, ?)",
                (m["id"], thread["id"], json.dumps(m)),
            )
    store.close()
    return thread["id"]


class HealthProbe:
    """``GET /health`` in a loop on its own thread: the slowest answer is how long the
    event loop stalled (at most) while the measured work ran."""

    def __init__(self, root_url: str) -> None:
        self.url = f"{root_url}/health"
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=None) as http:  # a stall is a figure, not an error
            while not self._stop.is_set():
                start = time.perf_counter()
                http.get(self.url)
                self.samples.append(time.perf_counter() - start)
                time.sleep(0.005)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def event_rows(db: Path, run_ids: list[str]) -> tuple[float, float]:
    """Event rows and bytes per run in the database (either event table layout)."""
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    marks = ",".join("?" * len(run_ids))
    if "run_event_log" in tables:
        sql = f"SELECT count(*), total(length(events)) FROM run_event_log WHERE run_id IN ({marks})"
    else:
        sql = f"SELECT count(*), total(length(data)) FROM run_events WHERE run_id IN ({marks})"
    rows, size = conn.execute(sql, run_ids).fetchone()
    conn.close()
    return rows / len(run_ids), size / len(run_ids)


def runs_on_thread(n: int, runs: int = 5) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "db.sqlite3"
        thread_id = seeded_thread(db, n)
        with server(db_path=db) as srv:
            c = srv.client()
            assistant = c.beta.assistants.create(model="gpt-4o", instructions="Be brief.")

            def one() -> str:
                with c.beta.threads.runs.stream(
                    thread_id=thread_id, assistant_id=assistant.id
                ) as stream:
                    stream.until_done()
                    run = stream.get_final_run()
                return run.id

            one()  # warm
            assert srv.proc is not None
            with HealthProbe(srv.root_url) as probe:
                before = server_cpu(srv.proc.pid)
                ids = [one() for _ in range(runs)]
                cpu = (server_cpu(srv.proc.pid) - before) / runs
            time.sleep(0.3)  # the tick that writes the last run's events
            rows, size = event_rows(db, ids)
    return {
        "cpu": cpu * 1000,
        "stall": max(probe.samples) * 1000 if probe.samples else float("nan"),
        "rows": rows,
        "bytes": size,
    }


def file_search_at(chunks: int, queries: int = 100) -> dict[str, float]:
    """Index ``chunks`` chunks (100-token static chunking) in process; p95 of search()."""
    from bench_file_search import Corpus

    corpus = Corpus()
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "db.sqlite3"
        c = ServerContext.build(ServerConfig(db_path=db))
        c.indexer.start()
        try:
            files = max(1, chunks // 1000)
            per_file = chunks // files
            texts = ["\n\n".join(corpus.text(38) for _ in range(per_file)) for _ in range(files)]
            ids = [
                store_file(c.store, f"f{i}.txt", t.encode(), "assistants")["id"]
                for i, t in enumerate(texts)
            ]
            strategy = {
                "type": "static",
                "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0},
            }
            vs = vsf.create_vector_store(c, {"file_ids": ids, "chunking_strategy": strategy})
            vsf.wait_until_indexed(c.store, [vs["id"]], timeout=3600)
            words = [corpus.text(1).strip() for _ in range(queries)]
            qs = [" ".join(words[i : i + 1 + i % 3]) for i in range(queries)]
            search(c.store, [vs["id"]], qs[0])
            times = []
            for q in qs:
                start = time.perf_counter()
                search(c.store, [vs["id"]], q, max_num_results=10)
                times.append(time.perf_counter() - start)
            text_bytes = sum(len(t.encode()) for t in texts)
        finally:
            c.indexer.stop()
            c.store.close()  # the last connection folds the WAL into the file
        size = sum(f.stat().st_size for f in Path(d).glob("db.sqlite3*"))
        conn = sqlite3.connect(db)
        indexed = conn.execute("SELECT count(*) FROM fs_chunks").fetchone()[0]
        conn.close()
    return {"chunks": indexed, "p95": p95_ms(times), "ratio": size / text_bytes}


def concurrent_runs(n: int) -> dict[str, float]:
    with server() as srv:
        c = srv.client()
        assistant = c.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
        threads = [
            c.beta.threads.create(messages=[{"role": "user", "content": f"hi {i}"}]).id
            for i in range(n)
        ]

        async def all_runs() -> list[float]:
            ac = openai.AsyncOpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0, timeout=600)

            async def one(thread_id: str) -> float:
                start = time.perf_counter()
                async with ac.beta.threads.runs.stream(
                    thread_id=thread_id, assistant_id=assistant.id
                ) as stream:
                    await stream.until_done()
                return time.perf_counter() - start

            out = await asyncio.gather(*(one(t) for t in threads))
            await ac.close()
            return list(out)

        latencies = asyncio.run(all_runs())
    return {
        "p50": statistics.median(latencies) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
    }


def _http_cpu(pid: int, root: str, headers: dict[str, str], n: int) -> tuple[float, float]:
    """Server CPU (ms) per POST and per GET of an assistant."""
    body = {"model": "gpt-4o", "name": "bench", "instructions": "Be brief."}
    with httpx.Client(headers=headers) as http:
        created = [http.post(f"{root}/v1/assistants", json=body).json()["id"] for _ in range(20)]
        before = server_cpu(pid)
        for _ in range(n):
            http.post(f"{root}/v1/assistants", json=body)
        post = server_cpu(pid) - before
        before = server_cpu(pid)
        for i in range(n):
            http.get(f"{root}/v1/assistants/{created[i % 20]}")
        get = server_cpu(pid) - before
    return post / n * 1000, get / n * 1000


def crud_cpu(n: int = 1000) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "assistants=v2"}
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d, server(db_path=Path(d) / "db.sqlite3") as srv:
        assert srv.proc is not None
        out["ours POST"], out["ours GET"] = _http_cpu(srv.proc.pid, srv.root_url, headers, n)
    port = free_port()
    bare = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "_bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).parent,
    )
    try:
        root = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{root}/health")
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        out["bare POST"], out["bare GET"] = _http_cpu(bare.pid, root, {}, n)
    finally:
        bare.terminate()
        bare.wait()
    # Raw SQLite: the insert and the read by id such a request makes, nothing else.
    with tempfile.TemporaryDirectory() as d:
        conn = sqlite3.connect(Path(d) / "raw.sqlite3", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE objects (id TEXT PRIMARY KEY, kind TEXT, parent TEXT, data TEXT)"
        )
        doc = json.dumps(
            {
                "id": "x",
                "object": "assistant",
                "model": "gpt-4o",
                "instructions": "Be brief.",
                "tools": [],
                "metadata": {},
            }
        )
        start = time.process_time()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO objects VALUES (?, 'assistant', NULL, ?)", (f"asst_{i}", doc))
            conn.execute("COMMIT")
        out["sqlite POST"] = (time.process_time() - start) / n * 1000
        start = time.process_time()
        for i in range(n):
            json.loads(
                conn.execute("SELECT data FROM objects WHERE id = ?", (f"asst_{i}",)).fetchone()[0]
            )
        out["sqlite GET"] = (time.process_time() - start) / n * 1000
        conn.close()
    return out


def print_rows(head_sizes: list[int], rows: list[tuple[str, list[float]]]) -> None:
    head = f"{'size':40}" + "".join(f"{n:>10}" for n in head_sizes)
    head += "".join(f"{f'×{b / a:g}':>10}" for a, b in itertools.pairwise(head_sizes))
    print(head)
    for label, figures in rows:
        cells = "".join(f"{f:10.2f}" for f in figures)
        ratios = "".join(
            f"{(b / a if a > 0 else float('inf')):10.1f}" for a, b in itertools.pairwise(figures)
        )
        print(f"{label:40}{cells}{ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--chunks", default="1000,10000,100000")
    parser.add_argument("--concurrent", default="20,50,200")
    parser.add_argument("--only", default="rows,server,search,concurrent,crud")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    print(machine())
    if "rows" in only:
        print("\nin process (CPU ms, best of 3)")
        rows: list[tuple[str, list[float]]] = [
            ("max_prompt_tokens truncate (ms)", [truncation(n) for n in sizes]),
            ("truncate_tokens, N words (ms)", [reply_cut(n) for n in sizes]),
        ]
        lists = [run_filter(n) for n in sizes]
        rows.append(("messages.list(run_id) (ms)", [f for f, _ in lists]))
        rows.append(("messages.list unfiltered (ms)", [u for _, u in lists]))
        print_rows(sizes, rows)
    if "server" in only:
        print("\none streamed run on an N-message thread (server process)")
        res = [runs_on_thread(n) for n in sizes]
        print_rows(
            sizes,
            [
                ("server CPU per run (ms)", [r["cpu"] for r in res]),
                ("/health max while runs execute (ms)", [r["stall"] for r in res]),
                ("event rows per finished run", [r["rows"] for r in res]),
                ("event bytes per finished run", [r["bytes"] for r in res]),
            ],
        )
    if "search" in only:
        chunk_sizes = [int(s) for s in args.chunks.split(",")]
        print("\nfile search over N chunks (in process, 100 queries of 1-3 words)")
        res = [file_search_at(n) for n in chunk_sizes]
        print_rows(
            chunk_sizes,
            [
                ("chunks indexed", [r["chunks"] for r in res]),
                ("search() p95 (ms)", [r["p95"] for r in res]),
                ("database / text (×)", [r["ratio"] for r in res]),
            ],
        )
    if "concurrent" in only:
        counts = [int(s) for s in args.concurrent.split(",")]
        print("\nN concurrent streamed runs (AsyncOpenAI, one task each)")
        res = [concurrent_runs(n) for n in counts]
        print_rows(
            counts,
            [
                ("p50 create to done (ms)", [r["p50"] for r in res]),
                ("p99 create to done (ms)", [r["p99"] for r in res]),
                ("p99 / p50", [r["p99"] / r["p50"] for r in res]),
            ],
        )
    if "crud" in only:
        print("\nserver CPU per request (ms), 1000 each: ours, bare FastAPI, raw SQLite")
        res = crud_cpu()
        for label in ("POST", "GET"):
            print(
                f"{label:6} ours {res[f'ours {label}']:7.3f}   bare FastAPI "
                f"{res[f'bare {label}']:7.3f}   raw SQLite {res[f'sqlite {label}']:7.3f}"
            )


if __name__ == "__main__":
    main()
