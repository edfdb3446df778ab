"""What the benchmarks share: timing, statistics, printing, the server process.

The benchmarks run as scripts (``.venv/bin/python benchmarks/bench_x.py``), so the
script's folder is on ``sys.path`` and this module is imported as ``_common``.
Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import openai

from orchestrator.testing import ServerProcess

# The SDK marks the whole Assistants API deprecated; using it is this project's point.
warnings.filterwarnings("ignore", category=DeprecationWarning)

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench"
# The seed tutorials' display_quiz function (the example project holds the one copy).
DISPLAY_QUIZ: dict[str, Any] = json.loads(
    (ROOT / "assistants/functions/display_quiz.json").read_text(encoding="utf-8")
)

T = TypeVar("T")


# -- statistics ------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of the samples."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: Sequence[float]) -> float:
    return percentile(samples, 0.95) * 1000


def stats(samples: Sequence[float], decimals: int = 2) -> str:
    """``median … ms   p95 … ms`` of samples in seconds."""
    w = decimals + 6
    return (
        f"median {median_ms(samples):{w}.{decimals}f} ms   p95 {p95_ms(samples):{w}.{decimals}f} ms"
    )


def ratio(a: Sequence[float], b: Sequence[float]) -> str:
    """How many times the median of ``a`` is that of ``b`` (the baseline)."""
    return f"{statistics.median(a) / statistics.median(b):5.2f}x"


# -- timing ----------------------------------------------------------------------------


def time_it(rounds: int, fn: Callable[[], Any], warm_up: bool = True) -> list[float]:
    """Seconds per call of ``fn``, ``rounds`` times (after one untimed call)."""
    if warm_up:
        fn()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def time_each(items: Sequence[T], fn: Callable[[T], Any]) -> list[float]:
    """Seconds per call of ``fn`` on each item (after one untimed call on the first)."""
    fn(items[0])
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
    return out


def rate(n: int, fn: Callable[[int], Any]) -> float:
    """Calls per second of ``fn(0) … fn(n - 1)`` in sequence."""
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


# -- printing --------------------------------------------------------------------------


def row(label: str, *figures: str, width: int = 32, indent: int = 3) -> None:
    """One line of a figure table: the label padded to ``width``, then the figures."""
    print(" " * indent + f"{label:{width}s} " + "   ".join(figures))


def table(rows: Iterable[Sequence[str]], first: int, cell: int) -> None:
    """Rows (the first is the header) with a left column ``first`` wide and
    right-aligned cells ``cell`` wide."""
    for label, *cells in rows:
        print(f"{label:{first}}" + "".join(f"{c:>{cell}}" for c in cells))


def machine() -> str:
    """What the figures were measured on."""
    load = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"
    return (
        f"cpus: {os.cpu_count()}   load average: {load}   python {sys.version.split()[0]}"
        f"   openai {openai.__version__}"
    )


# -- the server ------------------------------------------------------------------------


def server(*extra_args: str, key: str = KEY, db_path: Path | None = None) -> ServerProcess:
    """An ``orchestrator serve`` process (in-memory state unless ``db_path``), not yet
    started: use it as a context manager, or ``.start()`` and ``.stop()``."""
    return ServerProcess(db_path=db_path, api_key=key, extra_args=extra_args, cwd=ROOT)


def rss_mb(pid: int | None) -> float:
    """Resident memory of a process (Linux ``/proc``), NaN elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
