"""The `api: openai` target: a no-change plan of 500 assistants — its requests and its time.

    .venv/bin/python benchmarks/bench_openai_target.py [--assistants 500] [--agents 400]
        [--files 200] [--stores 20] [--repeat 3] [--parallelism 8]

The first ``--agents`` assistants have ``agent: true`` (a function tool: Managed Agents);
the rest use file search over ``--stores`` vector stores of ``--files`` files (a
Responses profile only: no server object). Against ``orchestrator serve`` (its own
process, fresh SQLite database): one apply, then ``--repeat`` no-change plans. Printed:
the apply's and the no-change plan's wall time (median) and requests by route, ids
folded (``/v1/agents/{id}``): a no-change plan is list pages only, and never touches the
retired Assistants API (``/v1/assistants``, ``/v1/threads``).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_reconcile import API_KEY, make_project, server  # noqa: E402

from orchestrator.reconcile import workflow  # noqa: E402
from orchestrator.reconcile.apply import content_from_memory  # noqa: E402
from orchestrator.reconcile.desired import desired_state  # noqa: E402
from orchestrator.reconcile.plan import PlanOptions  # noqa: E402
from orchestrator.reconcile.platform import PlatformApi  # noqa: E402

_ID = re.compile(r"/(agent_|vs_|file-|vsfb_)[^/?]+")


class Routes:
    """Requests by ``METHOD /route`` (ids folded), counted at the HTTP layer."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def hook(self, request: Any) -> None:
        route = _ID.sub(lambda m: "/{" + m.group(1).rstrip("_-") + "}", request.url.path)
        with self.lock:
            self.counts[f"{request.method} {route}"] += 1

    def take(self) -> Counter[str]:
        with self.lock:
            out, self.counts = self.counts, Counter()
        return out


def client(base_url: str, routes: Routes) -> openai.OpenAI:
    http = httpx2.Client(event_hooks={"request": [routes.hook]}, timeout=120)
    return openai.OpenAI(base_url=base_url, api_key=API_KEY, http_client=http, max_retries=0)


def show(title: str, seconds: list[float], requests: Counter[str]) -> None:
    print(f"\n{title}: {statistics.median(seconds):.2f} s (median of {len(seconds)})")
    print(f"  {sum(requests.values())} requests")
    for route, n in sorted(requests.items()):
        print(f"    {n:5d}  {route}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assistants", type=int, default=500)
    ap.add_argument("--agents", type=int, default=400)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--stores", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parallelism", type=int, default=8)
    args = ap.parse_args()

    project = make_project(args.assistants, args.files, args.stores)
    for i, spec in enumerate(project.assistants):
        if i < args.agents:
            # An agent: its function tool and instructions, no file search.
            spec.tools = [t for t in spec.tools if t.type == "function"]
            spec.vector_store = None
            spec.agent = True
        else:
            spec.tools = [t for t in spec.tools if t.type == "file_search"]
    desired = desired_state(project, "bench", api="openai")
    contents = {sha: f.content or b"" for sha, f in desired.files.items()}
    routes = Routes()
    with server() as base_url:
        api = PlatformApi(client(base_url, routes))
        started = time.perf_counter()
        plan = workflow.plan(api, desired, PlanOptions(), parallelism=args.parallelism)
        workflow.apply(api, plan, content_from_memory(contents), desired=desired, strict=False)
        show("apply (empty server)", [time.perf_counter() - started], routes.take())
        seconds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            again = workflow.plan(api, desired, PlanOptions(), parallelism=args.parallelism)
            seconds.append(time.perf_counter() - started)
            assert not again.has_changes, "a second plan must find nothing to do"
            requests = routes.take()
        show(f"no-change plan of {args.assistants} assistants", seconds, requests)
        retired = [r for r in requests if "/assistants" in r or "/threads" in r]
        print(f"  retired Assistants API requests: {len(retired)}")


if __name__ == "__main__":
    main()
