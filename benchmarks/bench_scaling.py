"""Scaling: the cost of a request as a thread or a reply grows (issue 15 rows 1-3).

Each row runs at three sizes and prints the CPU time and the ratio between sizes
(×10 the size should cost about ×10 when the path is linear, ×100 when quadratic):

- ``max_prompt_tokens`` truncation of an N-message thread (``prompt.truncate``);
- ``truncate_tokens`` of an N-word local-model reply cut near its end;
- ``messages.list(run_id=...)`` on an N-message thread (store), beside the unfiltered list.

Run: ``.venv/bin/python benchmarks/bench_scaling.py [--sizes 100,1000,10000]``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from typing import Any

from orchestrator.server import prompt
from orchestrator.server.providers.base import ChatMessage
from orchestrator.server.providers.local import truncate_tokens
from orchestrator.server.providers.tokens import count_tokens
from orchestrator.server.store import ListParams, Store


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    rows: list[tuple[str, list[float]]] = [
        ("max_prompt_tokens truncate (ms)", [truncation(n) for n in sizes]),
        ("truncate_tokens, N words (ms)", [reply_cut(n) for n in sizes]),
    ]
    lists = [run_filter(n) for n in sizes]
    rows.append(("messages.list(run_id) (ms)", [f for f, _ in lists]))
    rows.append(("messages.list unfiltered (ms)", [u for _, u in lists]))
    head = f"{'size':34}" + "".join(f"{n:>10}" for n in sizes)
    head += "".join(f"{f'×{b // a}':>10}" for a, b in itertools.pairwise(sizes))
    print(head)
    for label, figures in rows:
        cells = "".join(f"{f:10.2f}" for f in figures)
        ratios = "".join(
            f"{(b / a if a > 0 else float('inf')):10.1f}" for a, b in itertools.pairwise(figures)
        )
        print(f"{label:34}{cells}{ratios}")


if __name__ == "__main__":
    main()
