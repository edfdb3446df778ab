"""Reconciler figures: plan and apply of 500 assistants with 200 files in 20 vector stores.

    .venv/bin/python benchmarks/bench_reconcile.py [--assistants 500] [--files 200]
        [--stores 20] [--ci-files 0] [--parallelism 8] [--repeat 3] [--latency-ms 0]

``--ci-files N`` gives the first N assistants a code-interpreter file each (its own CSV).

Runs against ``orchestrator serve`` (the embedded server, as its own process on a fresh
SQLite database per run, so client and server do not share one interpreter). Requests
are counted at the HTTP layer by an event hook on the client the reconciler uses.

Printed per phase: wall time (median over --repeat runs), requests by method, and
requests per managed object. Phases: plan on an empty server, the full apply, a
no-change plan, a no-change apply; plan and apply after an apply that was stopped
between its uploads and the attach (the recovery path: the unattached files its
journal names are downloaded and hashed); then the baseline: the same writes done one
by one with the SDK (upload each file, create each store, attach each file, wait for
indexing, create each assistant), on a fresh server, and the ratio between the two.

On loopback both sides are CPU-bound (the client's SDK work and the server's), so
parallel writes can at best overlap the two; ``--latency-ms`` adds a round trip per
request (a server on the network), where the bounded pool and file batches matter most.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai

warnings.filterwarnings("ignore", category=DeprecationWarning)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestrator.ownership import FILE_SHA_ATTRIBUTE  # noqa: E402
from orchestrator.project.specs import (  # noqa: E402
    AssistantSpec,
    FileRef,
    FunctionSpec,
    Location,
    Project,
    ProjectConfig,
    ToolSpec,
    VectorStoreSpec,
)
from orchestrator.reconcile import workflow  # noqa: E402
from orchestrator.reconcile.api import Api  # noqa: E402
from orchestrator.reconcile.apply import (  # noqa: E402
    ApplyOptions,
    Executor,
    content_from_memory,
)
from orchestrator.reconcile.desired import DesiredState, desired_state  # noqa: E402
from orchestrator.reconcile.plan import PlanOptions  # noqa: E402

API_KEY = "bench-key"
WORDS = [
    "algebra",
    "geometry",
    "triangle",
    "vector",
    "matrix",
    "proof",
    "number",
    "function",
    "limit",
    "series",
]


# -- the server and the counting client ----------------------------------------------------


@contextmanager
def server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as d:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchestrator",
                "serve",
                "--port",
                str(port),
                "--db",
                str(Path(d) / "db.sqlite3"),
                "--api-key",
                API_KEY,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            proc.terminate()
            proc.wait(30)


@dataclass
class Counted:
    client: openai.OpenAI
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> Counter[str]:
        with self.lock:
            out = Counter(self.counts)
            self.counts.clear()
        return out


class LatencyTransport(httpx2.HTTPTransport):
    """Adds a fixed network round trip to every request (a server that is not local)."""

    def __init__(self, latency: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.latency = latency

    def handle_request(self, request: Any) -> Any:
        if self.latency:
            time.sleep(self.latency)
        return super().handle_request(request)


def counted_client(base_url: str, pool: int = 32, latency: float = 0.0) -> Counted:
    c = Counted(client=None)  # type: ignore[arg-type]

    def hook(request: Any) -> None:
        with c.lock:
            c.counts[request.method] += 1

    limits = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool)
    http = httpx2.Client(
        event_hooks={"request": [hook]},
        timeout=120,
        transport=LatencyTransport(latency, limits=limits),
    )
    c.client = openai.OpenAI(base_url=base_url, api_key=API_KEY, http_client=http, max_retries=0)
    return c


# -- the project ------------------------------------------------------------------------------


def make_project(n_assistants: int, n_files: int, n_stores: int, n_ci: int = 0) -> Project:
    root = Path("/bench")
    files: list[FileRef] = []
    for i in range(n_files):
        words = " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(200))
        data = f"# Note {i}\n\n{words}\n".encode()
        rel = f"docs/note-{i:04d}.md"
        files.append(
            FileRef(path=root / rel, rel=rel, sha256=hashlib.sha256(data).hexdigest(), content=data)
        )
    per_store = max(1, n_files // n_stores)
    stores = [
        VectorStoreSpec(key=f"store-{s:02d}", files=files[s * per_store : (s + 1) * per_store])
        for s in range(n_stores)
    ]
    fn = FunctionSpec(
        name="lookup",
        description="Look something up.",
        parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    )
    assistants = []
    for i in range(n_assistants):
        tools = [ToolSpec(type="file_search"), ToolSpec(type="function", function=fn)]
        ci: list[FileRef] = []
        if i < n_ci:
            data = f"student,score\nstudent-{i},{i % 10}\n".encode()
            rel = f"data/scores-{i:04d}.csv"
            ci.append(
                FileRef(
                    path=root / rel, rel=rel, sha256=hashlib.sha256(data).hexdigest(), content=data
                )
            )
            tools.append(ToolSpec(type="code_interpreter"))
        assistants.append(
            AssistantSpec(
                key=f"assistant-{i:04d}",
                source=Location(root / f"assistants/assistant-{i:04d}.yaml"),
                model="gpt-4o",
                name=f"Assistant {i}",
                instructions=f"You are assistant number {i}. Answer briefly.",
                tools=tools,
                vector_store=stores[i % n_stores],
                code_interpreter_files=ci,
                metadata={"team": f"team-{i % 7}"},
                temperature=0.2,
            )
        )
    return Project(config=ProjectConfig(root=root), assistants=assistants)


# -- phases -------------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    seconds: list[float] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)

    def add(self, seconds: float, requests: Counter[str]) -> None:
        self.seconds.append(seconds)
        self.requests = requests  # the same every run; keep the last


def timed(fn: Callable[[], Any], counted: Counted) -> tuple[float, Counter[str], Any]:
    counted.reset()
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, counted.reset(), value


def reconciler_run(
    desired: DesiredState, parallelism: int, figures: dict[str, Figure], latency: float
) -> int:
    contents = {s: f.content or b"" for s, f in desired.files.items()}
    with server() as url:
        counted = counted_client(url, pool=parallelism * 2, latency=latency)
        api = Api(counted.client)

        def plan() -> Any:
            return workflow.plan(api, desired, PlanOptions(), parallelism=parallelism)

        def apply() -> Any:
            # As `orchestrator apply --yes` does: plan, then execute that plan.
            p = plan()
            return workflow.apply(
                api,
                p,
                content_from_memory(contents),
                desired=desired,
                strict=False,
                options=ApplyOptions(parallelism=parallelism),
            )

        s, req, _ = timed(plan, counted)
        figures["plan (empty server)"].add(s, req)
        s, req, outcome = timed(apply, counted)
        assert outcome.result is not None and not outcome.result.failures, outcome.result
        figures["apply (everything new)"].add(s, req)
        s, req, again = timed(plan, counted)
        assert not again.has_changes, "the second plan is not empty"
        figures["plan (no change)"].add(s, req)
        s, req, _ = timed(apply, counted)
        figures["apply (no change)"].add(s, req)
        return len([c for c in again.changes if c.action == "noop"])


class Killed(Exception):
    pass


def recovery_run(
    desired: DesiredState, parallelism: int, figures: dict[str, Figure], latency: float
) -> None:
    """An apply stopped after its uploads (as if killed), then plan and apply again: the
    recovery path, which downloads the unattached files its journal names."""
    contents = {s: f.content or b"" for s, f in desired.files.items()}
    with server() as url:
        counted = counted_client(url, pool=parallelism * 2, latency=latency)
        api = Api(counted.client)
        calls = 0

        def stop_after_uploads() -> None:
            nonlocal calls
            calls += 1
            if calls == 2:  # the guard runs before each phase: files, then stores
                raise Killed

        first = workflow.plan(api, desired, PlanOptions(), parallelism=parallelism)
        with suppress(Killed):
            Executor(
                api,
                first,
                content_from_memory(contents),
                ApplyOptions(parallelism=parallelism),
                guard=stop_after_uploads,
            ).run()

        def plan() -> Any:
            return workflow.plan(api, desired, PlanOptions(), parallelism=parallelism)

        s, req, p = timed(plan, counted)
        assert not any(c.kind == "file" and c.action == "create" for c in p.changes)
        figures["plan (after a killed apply)"].add(s, req)

        def apply() -> Any:
            return workflow.apply(
                api,
                plan(),
                content_from_memory(contents),
                desired=desired,
                strict=False,
                options=ApplyOptions(parallelism=parallelism),
            )

        s, req, outcome = timed(apply, counted)
        assert outcome.result is not None and not outcome.result.failures, outcome.result
        figures["apply (after a killed apply)"].add(s, req)


def baseline_run(desired: DesiredState, figures: dict[str, Figure], latency: float) -> None:
    """The same objects created one request at a time, as a simple script would."""
    with server() as url:
        counted = counted_client(url, latency=latency)
        c = counted.client

        def run() -> None:
            file_ids = {}
            for sha, f in desired.files.items():
                file_ids[sha] = c.files.create(
                    file=(f.name, f.content or b""), purpose="assistants"
                ).id
            store_ids = {}
            for key, vs in desired.vector_stores.items():
                store_ids[key] = c.vector_stores.create(name=key, metadata={"key": key}).id
                for sha in vs.file_shas:
                    c.vector_stores.files.create(
                        vector_store_id=store_ids[key],
                        file_id=file_ids[sha],
                        attributes={FILE_SHA_ATTRIBUTE: sha},
                    )
            for vs_id in store_ids.values():
                while c.vector_stores.retrieve(vs_id).file_counts.in_progress:
                    time.sleep(0.1)
            for a in desired.assistants.values():
                body = {k: v for k, v in a.fields.items() if v is not None}
                resources: dict[str, Any] = {}
                if a.vector_store:
                    resources["file_search"] = {"vector_store_ids": [store_ids[a.vector_store]]}
                if a.code_interpreter_files:
                    resources["code_interpreter"] = {
                        "file_ids": [file_ids[s] for s in a.code_interpreter_files]
                    }
                c.beta.assistants.create(
                    **body, metadata={**a.user_metadata, "key": a.key}, tool_resources=resources
                )

        s, req, _ = timed(run, counted)
        figures["baseline: same writes one by one"].add(s, req)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--assistants", type=int, default=500)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--stores", type=int, default=20)
    ap.add_argument("--ci-files", type=int, default=0)
    ap.add_argument("--parallelism", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="simulated network round trip per request (0: loopback only)",
    )
    args = ap.parse_args()

    project = make_project(args.assistants, args.files, args.stores, args.ci_files)
    desired = desired_state(project, "bench")
    names = [
        "plan (empty server)",
        "apply (everything new)",
        "plan (no change)",
        "apply (no change)",
        "plan (after a killed apply)",
        "apply (after a killed apply)",
        "baseline: same writes one by one",
    ]
    figures = {n: Figure(n) for n in names}
    managed = 0
    for i in range(args.repeat):
        print(f"run {i + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
        latency = args.latency_ms / 1000
        managed = reconciler_run(desired, args.parallelism, figures, latency)
        recovery_run(desired, args.parallelism, figures, latency)
        baseline_run(desired, figures, latency)

    print(
        f"\nReconciler against orchestrator serve: {args.assistants} assistants, "
        f"{args.files} files in {args.stores} vector stores"
        + (f", {args.ci_files} code-interpreter files" if args.ci_files else "")
        + f" = {managed} managed objects; "
        f"parallelism {args.parallelism}; {args.latency_ms:g} ms added per request; "
        f"median of {args.repeat} run(s) on fresh servers.\n"
    )
    print(f"{'phase':36} {'wall s':>8} {'requests':>9} {'per object':>11}  by method")
    for f in figures.values():
        total = sum(f.requests.values())
        by = ", ".join(f"{m} {n}" for m, n in sorted(f.requests.items()))
        print(
            f"{f.name:36} {statistics.median(f.seconds):8.2f} {total:9d} "
            f"{total / managed:11.3f}  {by}"
        )
    full = statistics.median(figures["apply (everything new)"].seconds)
    base = statistics.median(figures["baseline: same writes one by one"].seconds)
    lists = sum(figures["plan (no change)"].requests.values())
    print(
        f"\nfull apply vs. one-by-one baseline: {base / full:.2f}x faster "
        f"({full:.2f} s vs {base:.2f} s)"
    )
    print(
        f"no-change plan: {lists} list requests for {managed} objects "
        f"(one per {managed / max(lists, 1):.0f} objects), "
        f"{statistics.median(figures['plan (no change)'].seconds):.2f} s"
    )


if __name__ == "__main__":
    main()
