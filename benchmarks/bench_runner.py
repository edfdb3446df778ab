"""Scenario runner figures (printed, not asserted).

    .venv/bin/python benchmarks/bench_runner.py [--samples 40] [--seed-samples 8]
        [--scenarios 100] [--turns 3]

Against the embedded server started in this process, as ``orchestrator test`` does
(in-memory state, the deterministic local model); ``--server process`` runs an
``orchestrator serve`` process instead, so server and runner do not share one GIL.

1. Per-turn latency, side by side:
   - the seeds' own loop: ``messages.create``, ``runs.create``, then ``runs.retrieve``
     every 0.5 s until the run is done, then ``messages.list`` (as in seeds/000);
   - the runner, streaming (default) and polling (``--poll``), from its turn records;
   - a bare SDK streaming call (``runs.create(stream=True)`` consumed to the end) as the
     baseline for the runner's own overhead.
   For a plain turn and a function-call turn (``display_quiz`` with a Python handler:
   requires_action, the handler, ``submit_tool_outputs(stream=True)``).
2. Throughput: N scenarios x T turns at ``-j 1``, ``-j 4`` and ``-j 8``, each on the server
   placement ``orchestrator test`` uses (its own process above ``-j 1``), and the ratio.
3. One scenario turn over Responses (``api: openai``: a Conversation, the assistant's
   Responses profile from a lock file) next to the same turn over Assistants runs, both
   played by the runner, streamed and polled: medians and the ratio Responses /
   Assistants. ``--apis-only`` prints this part alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
from _common import DISPLAY_QUIZ, machine, median_ms, p95_ms, server, table

from orchestrator.ownership import KEY_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, NAMESPACE_KEY
from orchestrator.project.specs import Location, ScenarioSpec, TurnSpec
from orchestrator.reconcile.lockfile import LockFile, lockfile_path, write_lockfile
from orchestrator.scenarios import handlers as handler_registry
from orchestrator.scenarios.runner import RunnerOptions, ScenarioRunner
from orchestrator.server.config import ServerConfig
from orchestrator.targets import make_client
from orchestrator.targets.embedded import EmbeddedServer, EmbeddedServerProcess

NS = "bench"
PLAIN = "방정식 '3x + 11 = 14'를 풀어줘"
TUTOR = "너는 개인 수학 교사야. 질문에 한 문장 이하로 짧게 답해줘"
FUNCTION = "Use display_quiz to make a two-question quiz about right triangles."


@handler_registry.handler("display_quiz")
def _display_quiz(title: str, questions: list[dict[str, Any]]) -> list[str]:
    return ["I don't know." for _ in questions]


def _answers(calls: list[Any]) -> list[dict[str, str]]:
    """Tool outputs for the function calls, by the handler above (the seeds' loop and
    the bare SDK call answer as the runner does)."""
    return [
        {
            "tool_call_id": c.id,
            "output": json.dumps(_display_quiz(**json.loads(c.function.arguments))),
        }
        for c in calls
    ]


def _spec(name: str, users: list[str], tmp: Path) -> ScenarioSpec:
    src = tmp / f"{name}.yaml"
    return ScenarioSpec(
        name=name,
        source=Location(src),
        assistant="quiz" if any("display_quiz" in u for u in users) else "tutor",
        turns=[TurnSpec(user=u, source=Location(src)) for u in users],
    )


# --- the seeds' loop ------------------------------------------------------------------


def wait_on_run(client: openai.OpenAI, run: Any, thread_id: str) -> Any:
    """The seeds' own ``wait_on_run``: retrieve every 0.5 s while queued or in progress."""
    while run.status in ("queued", "in_progress"):
        time.sleep(0.5)
        run = client.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run.id)
    return run


def seeds_turn(client: openai.OpenAI, assistant_id: str, user: str) -> float:
    thread = client.beta.threads.create()
    started = time.perf_counter()
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=user)
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    run = wait_on_run(client, run, thread.id)
    if run.status == "requires_action":  # the seed's display_quiz flow
        outputs = _answers(run.required_action.submit_tool_outputs.tool_calls)
        run = client.beta.threads.runs.submit_tool_outputs(
            thread_id=thread.id, run_id=run.id, tool_outputs=outputs
        )
        run = wait_on_run(client, run, thread.id)
    client.beta.threads.messages.list(thread_id=thread.id, order="asc")
    elapsed = time.perf_counter() - started
    assert run.status == "completed", run.status
    client.beta.threads.delete(thread.id)
    return elapsed


# --- a bare SDK streaming call --------------------------------------------------------


async def _last_run(stream: Any) -> Any:
    """Read a run's event stream to the end; the run as its last ``thread.run.*`` event
    left it (None if there was none)."""
    run = None
    async with stream as events:
        async for event in events:
            if event.event.startswith("thread.run.") and not event.event.startswith(
                "thread.run.step"
            ):
                run = event.data
    return run


async def bare_turn(client: openai.AsyncOpenAI, assistant_id: str, user: str) -> float:
    thread = await client.beta.threads.create()
    runs = client.beta.threads.runs
    started = time.perf_counter()
    run = await _last_run(
        await runs.create(
            thread.id,
            assistant_id=assistant_id,
            additional_messages=[{"role": "user", "content": user}],
            stream=True,
        )
    )
    while run is not None and run.status == "requires_action":
        outputs = _answers(run.required_action.submit_tool_outputs.tool_calls)
        run = await _last_run(
            await runs.submit_tool_outputs(
                run.id, thread_id=thread.id, tool_outputs=outputs, stream=True
            )
        )
    elapsed = time.perf_counter() - started
    assert run is not None and run.status == "completed", run
    await client.beta.threads.delete(thread.id)
    return elapsed


# --- the runner -----------------------------------------------------------------------


async def runner_turns(
    client: openai.AsyncOpenAI,
    specs: list[ScenarioSpec],
    jobs: int,
    stream: bool = True,
    *,
    api: str = "assistants",
    root: Path | None = None,
) -> tuple[list[float], float]:
    options = RunnerOptions(namespace=NS, jobs=jobs, stream=stream, api=api)
    runner = ScenarioRunner(client, options, root=root)
    started = time.perf_counter()
    report = await runner.run(specs)
    wall = time.perf_counter() - started
    bad = [r for r in report.results if r.outcome != "passed"]
    assert not bad and not report.errors, [p.render() for r in bad for p in r.problems()]
    return [t.duration for r in report.results for t in r.turns], wall


def write_profiles(root: Path) -> None:
    """The lock file `orchestrator apply` would write for the two assistants on `api:
    openai` (no files or stores: their profiles are all there is)."""
    quiz = {"type": "function", **DISPLAY_QUIZ, "strict": False}
    lock = LockFile(
        namespace=NS,
        api="openai",
        profiles={
            "tutor": {"request": {"model": "gpt-4o", "instructions": TUTOR}, "agent_id": None},
            "quiz": {"request": {"model": "gpt-4o", "tools": [quiz]}, "agent_id": None},
        },
    )
    write_lockfile(lockfile_path(root, NS), lock)


async def measure_apis(client: openai.AsyncOpenAI, args: argparse.Namespace, tmp: Path) -> None:
    write_profiles(tmp)
    print("\n3. One scenario turn: Responses (api: openai) vs Assistants runs (median, ms)")
    print(
        f"{'':22}{'Assistants':>12}{'Responses':>12}{'ratio':>8}"
        f"{'Assistants':>14}{'Responses':>12}{'ratio':>8}"
    )
    print(f"{'':22}{'streamed':>12}{'streamed':>12}{'':>8}{'--poll':>14}{'--poll':>12}")
    for label, user in (("plain turn", PLAIN), ("function-call turn", FUNCTION)):
        modes = [(api, stream) for stream in (True, False) for api in ("assistants", "openai")]
        samples: dict[tuple[str, bool], list[float]] = {m: [] for m in modes}
        for i in range(args.samples + 1):  # the first round warms every path up
            for api, stream in modes:  # interleaved: all four see the same machine load
                spec = _spec(f"{api}{i}", [user], tmp)
                turns, _ = await runner_turns(client, [spec], 1, stream, api=api, root=tmp)
                if i:
                    samples[(api, stream)] += turns
        med = {m: median_ms(v) for m, v in samples.items()}
        cells = ""
        for stream in (True, False):
            a, r = med[("assistants", stream)], med[("openai", stream)]
            cells += f"{a:>{12 if stream else 14}.1f}{r:>12.1f}{r / a:>7.2f}x"
        print(f"{label:22}{cells}")


async def measure(
    base_url: str, key: str, ids: dict[str, str], args: argparse.Namespace, tmp: Path
) -> None:
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key)
    if args.apis_only:
        await measure_apis(client, args, tmp)
        await client.close()
        return
    sync = make_client(base_url, key)
    rows = []
    for label, user, assistant in (
        ("plain turn", PLAIN, "tutor"),
        ("function-call turn", FUNCTION, "quiz"),
    ):
        # Warm up every path once (imports, connections, the server's caches).
        await bare_turn(client, ids[assistant], user)
        await runner_turns(client, [_spec("warm", [user], tmp)], 1)
        seeds = [seeds_turn(sync, ids[assistant], user) for _ in range(args.seed_samples)]
        # Interleaved A/B/C samples, so all three see the same machine load.
        bare: list[float] = []
        streamed: list[float] = []
        polled: list[float] = []
        for i in range(args.samples):
            bare.append(await bare_turn(client, ids[assistant], user))
            streamed += (await runner_turns(client, [_spec(f"s{i}", [user], tmp)], 1))[0]
            polled += (await runner_turns(client, [_spec(f"p{i}", [user], tmp)], 1, False))[0]
        rows.append((label, seeds, bare, streamed, polled))

    print("\n1. Per-turn latency (median / p95, ms)")
    header = ["", "seeds loop", "bare SDK stream", "runner stream", "runner --poll"]
    cells = [
        [label, *(f"{median_ms(v):8.1f} / {p95_ms(v):6.1f}" for v in samples)]
        for label, *samples in rows
    ]
    table([header, *cells], first=22, cell=18)
    print()
    for label, seeds, bare, streamed, _polled in rows:
        speedup = statistics.median(seeds) / statistics.median(streamed)
        overhead = (statistics.median(streamed) - statistics.median(bare)) / statistics.median(bare)
        print(
            f"{label}: runner {speedup:.0f}x faster than the seeds' loop (target >= 10x); "
            f"runner overhead over a bare SDK streaming call {100 * overhead:+.1f}% (target < 20%)"
        )

    await measure_apis(client, args, tmp)
    await client.close()


async def measure_jobs(args: argparse.Namespace, tmp: Path) -> None:
    """Part 2, each row on a fresh server placed as `orchestrator test -j N` places it:
    in this process at -j 1, in a child process above (the runner keeps this one busy)."""
    print(f"\n2. Throughput: {args.scenarios} scenarios x {args.turns} turns (plain turns)")
    users = [PLAIN, "나는 수학을 싫어해. 어떻게 하면 좋을까?", "고마워! Thank you!"][: args.turns]
    users += [f"Follow-up {i}" for i in range(args.turns - len(users))]
    print(f"{'jobs':>6}  {'server':<18}{'wall s':>8}{'turns/s':>10}{'median turn ms':>16}")
    walls: dict[tuple[int, str], float] = {}
    for jobs, kind in ((1, "embedded"), (4, "embedded"), (4, "child"), (8, "child")):
        key = secrets.token_urlsafe(16)
        with _server(kind, key) as base_url:
            create_assistants(make_client(base_url, key))
            client = openai.AsyncOpenAI(base_url=base_url, api_key=key)
            await runner_turns(client, [_spec("warm", [PLAIN], tmp)], 1)
            specs = [_spec(f"t{i}", users, tmp) for i in range(args.scenarios)]
            turns, wall = await runner_turns(client, specs, jobs)
            await client.close()
        walls[jobs, kind] = wall
        where = "this process" if kind == "embedded" else "child process"
        print(
            f"{jobs:>6}  {where:<18}{wall:>8.2f}{len(turns) / wall:>10.1f}{median_ms(turns):>16.1f}"
        )
    ratio = walls[1, "embedded"] / walls[4, "child"]
    before = walls[1, "embedded"] / walls[4, "embedded"]
    print(
        f"-j 4 as `orchestrator test` runs it is {ratio:.2f}x faster than -j 1 (target >= 1.6x; "
        f"with the server in the runner's process it was {before:.2f}x)"
    )


def create_assistants(sync: openai.OpenAI) -> dict[str, str]:
    meta = {MANAGED_BY_KEY: MANAGED_BY_VALUE, NAMESPACE_KEY: NS}
    return {
        "tutor": sync.beta.assistants.create(
            model="gpt-4o",
            name="Math Tutor",
            instructions=TUTOR,
            metadata={**meta, KEY_KEY: "tutor"},
        ).id,
        "quiz": sync.beta.assistants.create(
            model="gpt-4o",
            name="Quiz Generator",
            tools=[{"type": "function", "function": DISPLAY_QUIZ}],
            metadata={**meta, KEY_KEY: "quiz"},
        ).id,
    }


@contextlib.contextmanager
def _server(kind: str, key: str) -> Iterator[str]:
    """The embedded server in this process (what `orchestrator test` does), or an
    `orchestrator serve` process (no GIL shared with the runner)."""
    if kind in ("embedded", "child"):
        config = ServerConfig(db_path=None, host="127.0.0.1", port=0, api_key=key)
        kinds = {"embedded": EmbeddedServer, "child": EmbeddedServerProcess}
        with kinds[kind](config) as embedded:
            yield embedded.base_url
    else:
        with server(key=key) as process:
            yield process.base_url


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=40, help="turns per runner/bare figure")
    parser.add_argument(
        "--seed-samples", type=int, default=8, help="turns for the seeds' loop (>= 0.5 s each)"
    )
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument(
        "--apis-only", action="store_true", help="only part 3: Responses vs Assistants turns"
    )
    parser.add_argument(
        "--server",
        choices=("embedded", "process"),
        default="embedded",
        help="embedded: in this process, as `orchestrator test` runs it (default); "
        "process: an `orchestrator serve` process",
    )
    args = parser.parse_args()
    key = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory() as tmp, _server(args.server, key) as base_url:
        sync = make_client(base_url, key)
        ids = create_assistants(sync)
        where = (
            "in this process" if args.server == "embedded" else "an `orchestrator serve` process"
        )
        print(f"server {base_url} ({where}, in-memory state, local model)")
        print(machine())
        asyncio.run(measure(base_url, key, ids, args, Path(tmp)))
    if not args.apis_only:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(measure_jobs(args, Path(tmp)))


if __name__ == "__main__":
    main()
