"""The run event log writes little: one transaction per loop tick for every run that
stopped in it, one compressed row per run slice, no delta rows (issue 15).

These count transactions and rows, so a return to a write per event fails
deterministically, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import zlib

from orchestrator.server.events import EventLog
from orchestrator.server.store import Store
from tests.support.waiting import wait_for

RUNS = 3
DELTAS = 40


def _emit_run(log: EventLog, run_id: str) -> None:
    log.append(run_id, "thread.run.created", {"id": run_id, "status": "queued"})
    log.append(run_id, "thread.message.created", {"id": "msg_1", "content": []})
    for i in range(DELTAS):
        log.append(run_id, "thread.message.delta", {"id": "msg_1", "delta": {"i": i}})
    log.append(run_id, "thread.run.completed", {"id": run_id, "status": "completed"})


def test_runs_that_stop_in_one_tick_share_one_transaction_and_write_no_deltas() -> None:
    async def scenario() -> EventLog:
        log = EventLog(Store(None))
        for r in range(RUNS):
            _emit_run(log, f"run_{r}")
        assert log.transactions == 0, "appending writes nothing"
        for r in range(RUNS):
            log.finish(f"run_{r}")
        await asyncio.sleep(0)  # the tick the flush was scheduled for
        await asyncio.sleep(0)
        return log

    log = asyncio.run(scenario())
    assert log.transactions == 1
    with log.store.transaction() as conn:
        rows = conn.execute("SELECT run_id, first_seq, last_seq FROM run_event_log").fetchall()
    assert sorted(tuple(r) for r in rows) == [(f"run_{r}", 1, DELTAS + 3) for r in range(RUNS)]
    # Out of memory (the linger is over), a reader gets the state changes from SQLite.
    log._release("run_0", log._live["run_0"])
    assert [e.event for e in log.since("run_0", 0)] == [
        "thread.run.created",
        "thread.message.created",
        "thread.run.completed",
    ]
    assert log.last_seq("run_0") == DELTAS + 3


def test_a_resumed_run_writes_only_its_new_events_and_keeps_numbering() -> None:
    async def scenario() -> EventLog:
        log = EventLog(Store(None))
        log.append("run_a", "thread.run.requires_action", {"n": 1})
        log.finish("run_a")
        await asyncio.sleep(0)
        log._release("run_a", log._live["run_a"])
        log.append("run_a", "thread.run.queued", {"n": 2})
        log.append("run_a", "thread.message.delta", {"n": 3})
        log.append("run_a", "thread.run.completed", {"n": 4})
        log.finish("run_a")
        await asyncio.sleep(0)
        return log

    log = asyncio.run(scenario())
    assert log.transactions == 2
    assert [(e.seq, e.data["n"]) for e in log.since("run_a", 0)] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    log._release("run_a", log._live["run_a"])
    assert [(e.seq, e.data["n"]) for e in log.since("run_a", 0)] == [(1, 1), (2, 2), (4, 4)]


def test_a_resumable_log_keeps_its_deltas() -> None:
    log = EventLog(Store(None))
    log.append("resp_a", "response.output_text.delta", {"delta": "hi"})
    log.append("resp_a", "response.completed", {})
    log.finish("resp_a", keep_deltas=True)  # no loop: written and released at once
    assert log.transactions == 1
    assert [e.event for e in log.since("resp_a", 0)] == [
        "response.output_text.delta",
        "response.completed",
    ]


def test_a_finished_run_is_one_small_row_without_deltas(server_factory) -> None:
    srv = server_factory()
    client = srv.client()
    assistant = client.beta.assistants.create(model="gpt-4o", instructions="Answer briefly.")
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "say something long enough to stream " * 20}]
    )
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
        streamed = [e.event for e in s]
    assert streamed.count("thread.message.delta") > 10
    run_id = client.beta.threads.runs.list(thread_id=thread.id).data[0].id
    assert srv.db_path is not None
    db = sqlite3.connect(srv.db_path)
    rows = wait_for(
        lambda: db.execute(
            "SELECT events FROM run_event_log WHERE run_id = ?", (run_id,)
        ).fetchall()
    )
    assert len(rows) == 1
    stored = [event for _, event, _ in json.loads(zlib.decompress(rows[0][0]))]
    assert stored == [e for e in streamed if not e.endswith(".delta")]
    assert len(rows[0][0]) <= 4096
