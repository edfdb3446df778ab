"""File search figures: indexing throughput and query latency over ~10,000 chunks.

    .venv/bin/python benchmarks/bench_file_search.py [--chunks 10000] [--files 100]
        [--queries 200] [--chunk-tokens 800] [--overlap 400]

A deterministic synthetic corpus (English-like words with a Zipf distribution, and
Korean words with particles attached) is uploaded to an ``orchestrator serve`` process
and attached with one file batch; the time from the batch request to ``completed``
gives the indexing throughput. Queries (1-3 words, English and Korean) are then timed
over HTTP with the openai SDK, beside ``GET /vector_stores/{id}`` on the same
connection as the HTTP baseline. Finally, with the server stopped, ``search()`` is
timed in process on the same database, beside a brute-force scan of every chunk in
Python (what a search without an index costs) as the baseline.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from _common import row, server, stats, time_each

from orchestrator.server.store import Store
from orchestrator.server.tools.chunking import count_tokens
from orchestrator.server.tools.file_search import search
from orchestrator.server.tools.search_terms import query_terms

HANGUL = [chr(c) for c in range(0xAC00, 0xD7A4, 37)]
PARTICLES = ["은", "는", "이", "가", "을", "를", "에", "의", "로", ""]


class Corpus:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        syll = ["ka", "lo", "mi", "ren", "tas", "vel", "dor", "qui", "sen", "bra", "tho", "lun"]
        self.english = sorted(
            {"".join(self.rng.choices(syll, k=self.rng.randint(1, 4))) for _ in range(8000)}
        )
        self.korean = sorted(
            {"".join(self.rng.choices(HANGUL, k=self.rng.randint(2, 4))) for _ in range(3000)}
        )
        # Zipf-like weights: a few very common words, a long tail.
        self.en_weights = [1 / (i + 1) for i in range(len(self.english))]
        self.ko_weights = [1 / (i + 1) for i in range(len(self.korean))]

    def text(self, words: int) -> str:
        out = []
        en = self.rng.choices(self.english, self.en_weights, k=words)
        ko = self.rng.choices(self.korean, self.ko_weights, k=words)
        for i in range(words):
            if i % 5 == 4:
                out.append(ko[i] + self.rng.choice(PARTICLES))
            else:
                out.append(en[i])
            if i % 17 == 16:
                out.append(".\n")
        return " ".join(out)

    def queries(self, n: int) -> list[str]:
        out = []
        for i in range(n):
            if i % 4 == 3:
                out.append(self.rng.choice(self.korean[50:2000]))
            else:
                k = self.rng.randint(1, 3)
                out.append(" ".join(self.rng.choice(self.english[20:4000]) for _ in range(k)))
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=10000, help="approximate chunks to index")
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--chunk-tokens", type=int, default=800)
    ap.add_argument("--overlap", type=int, default=400)
    args = ap.parse_args()

    corpus = Corpus()
    sample = corpus.text(2000)
    tokens_per_word = count_tokens(sample) / 2000
    step = args.chunk_tokens - args.overlap
    words_per_file = int(args.chunks * step / args.files / tokens_per_word)
    texts = [corpus.text(words_per_file) for _ in range(args.files)]
    total_bytes = sum(len(t.encode()) for t in texts)
    queries = corpus.queries(args.queries)
    print(
        f"corpus: {args.files} files, {total_bytes / 1e6:.1f} MB of text, "
        f"~{tokens_per_word * words_per_file * args.files / 1e6:.2f} M approximate tokens; "
        f"chunking {args.chunk_tokens}/{args.overlap}"
    )

    tmp = Path(tempfile.mkdtemp(prefix="bench-fs-"))
    db = tmp / "db.sqlite3"
    with server(db_path=db) as srv:
        client = srv.client(timeout=600)
        t0 = time.perf_counter()
        ids = [
            client.files.create(file=(f"doc-{i:03d}.txt", t.encode()), purpose="assistants").id
            for i, t in enumerate(texts)
        ]
        upload = time.perf_counter() - t0
        vs = client.vector_stores.create(name="bench")
        t0 = time.perf_counter()
        batch = client.vector_stores.file_batches.create_and_poll(
            vector_store_id=vs.id,
            file_ids=ids,
            chunking_strategy={
                "type": "static",
                "static": {
                    "max_chunk_size_tokens": args.chunk_tokens,
                    "chunk_overlap_tokens": args.overlap,
                },
            },
            poll_interval_ms=20,
        )
        index_s = time.perf_counter() - t0
        assert batch.file_counts.completed == args.files, batch.file_counts
        with sqlite3.connect(db) as conn:
            chunks = conn.execute("SELECT count(*) FROM fs_chunks").fetchone()[0]
        print(f"\nupload   {args.files} files over HTTP: {upload:6.2f} s")
        print(
            f"indexing {chunks} chunks: {index_s:6.2f} s  ->  {chunks / index_s:8.0f} chunks/s, "
            f"{total_bytes / 1e6 / index_s:6.2f} MB/s of text"
        )

        print(f"\nquery latency over HTTP (openai SDK, max_num_results=10, {len(queries)} queries)")
        baseline = time_each(queries, lambda _q: client.vector_stores.retrieve(vs.id))
        row("GET vector store (baseline)", stats(baseline, 3), indent=2)
        hits: list[int] = []

        def http_search(q: str) -> None:
            hits.append(len(client.vector_stores.search(vs.id, query=q, max_num_results=10).data))

        over_http = time_each(queries, http_search)
        row(
            "POST search",
            stats(over_http, 3),
            f"({statistics.median(over_http) / statistics.median(baseline):.1f}x baseline; "
            f"{statistics.median(hits):.0f} hits median)",
            indent=2,
        )

    store = Store(db)
    try:
        print(f"\nquery latency in process (search(), {len(queries)} queries)")
        en = [q for i, q in enumerate(queries) if i % 4 != 3]
        ko = [q for i, q in enumerate(queries) if i % 4 == 3]
        core_en = time_each(en, lambda q: search(store, [vs.id], q, max_num_results=10))
        core_ko = time_each(ko, lambda q: search(store, [vs.id], q, max_num_results=10))
        row("search() English", stats(core_en, 3), indent=2)
        row("search() Korean", stats(core_ko, 3), indent=2)
        rows = sqlite3.connect(db).execute("SELECT text FROM fs_chunks").fetchall()
        lowered = [r[0].casefold() for r in rows]

        def brute(q: str) -> None:
            terms = query_terms(q)
            scored = [(sum(t.count(w) for w in terms), i) for i, t in enumerate(lowered)]
            scored.sort(reverse=True)

        few = queries[:20]
        scan = time_each(few, brute)
        core_few = time_each(few, lambda q: search(store, [vs.id], q, max_num_results=10))
        row(
            "brute-force scan (baseline)",
            stats(scan, 3),
            f"(search() is {statistics.median(scan) / statistics.median(core_few):.0f}x faster "
            "on the same 20 queries)",
            indent=2,
        )
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
