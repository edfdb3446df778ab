"""The per-run event log: every state change and delta of a run, in order.

The engine appends events as a run executes (``thread.run.in_progress``,
``thread.message.delta``, ...); SSE responses read them back from any position and
wait for more. Events are written to SQLite (table ``run_events``) so the log is one
source of truth for every reader, and kept in memory while the run is live so readers
are woken without polling the database.

All of this runs on the server's event loop: :meth:`EventLog.append` is synchronous
and wakes waiting readers through an :class:`asyncio.Event`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from orchestrator.server.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run_events (
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    event  TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""

# How long a finished run's events stay in memory for readers still catching up.
_LINGER_SECONDS = 30.0
# A reader with nothing live to wait on re-reads the table this often.
_IDLE_POLL_SECONDS = 0.5


@dataclass
class RunEvent:
    seq: int
    event: str
    data: Any  # a wire object (run, step, message, delta, error)


@dataclass
class _Live:
    events: list[RunEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    next_seq: int = 1


class EventLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.executescript(_SCHEMA)
        self._live: dict[str, _Live] = {}

    # -- writing --------------------------------------------------------------------

    def append(self, run_id: str, event: str, data: Any) -> RunEvent:
        """Record an event and wake the run's readers."""
        live = self._live.get(run_id)
        if live is None:
            live = self._live[run_id] = _Live(next_seq=self.last_seq(run_id) + 1)
        # The event holds a snapshot: the caller may go on changing ``data`` (a message
        # it keeps appending to), and a live reader must see it as it was when emitted,
        # or a delta would repeat what its ``created`` event already shows.
        text = json.dumps(data, ensure_ascii=False)
        ev = RunEvent(live.next_seq, event, json.loads(text))
        live.next_seq += 1
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO run_events (run_id, seq, event, data) VALUES (?, ?, ?, ?)",
                (run_id, ev.seq, event, text),
            )
        live.events.append(ev)
        # Wake everyone waiting, then give later waiters a fresh event to wait on.
        live.changed.set()
        live.changed = asyncio.Event()
        return ev

    def finish(self, run_id: str) -> None:
        """The run reached a state with no further events for now: free memory soon."""
        live = self._live.get(run_id)
        if live is None:
            return

        def drop() -> None:
            # Only if nothing was appended meanwhile (a submit may have resumed the run).
            if self._live.get(run_id) is live and live.events and live.events[-1] is last:
                del self._live[run_id]
                live.changed.set()

        last = live.events[-1] if live.events else None
        try:
            asyncio.get_running_loop().call_later(_LINGER_SECONDS, drop)
        except RuntimeError:  # no loop (shutdown): drop now
            self._live.pop(run_id, None)

    def delete_runs(self, run_ids: list[str]) -> None:
        """Forget the events of deleted runs."""
        with self.store.transaction() as conn:
            conn.executemany("DELETE FROM run_events WHERE run_id = ?", [(r,) for r in run_ids])
        for run_id in run_ids:
            live = self._live.pop(run_id, None)
            if live is not None:
                live.changed.set()

    def compact_except(self, live_run_ids: list[str]) -> None:
        """Drop the deltas of every run but these: a finished run's full objects are in
        its other events, and nothing reads its deltas again."""
        marks = ", ".join("?" * len(live_run_ids))
        where = f" AND run_id NOT IN ({marks})" if live_run_ids else ""
        with self.store.transaction() as conn:
            conn.execute(f"DELETE FROM run_events WHERE event LIKE '%.delta'{where}", live_run_ids)

    # -- reading --------------------------------------------------------------------

    def last_seq(self, run_id: str) -> int:
        live = self._live.get(run_id)
        if live is not None:
            return live.next_seq - 1
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT MAX(seq) FROM run_events WHERE run_id = ?", (run_id,)
            ).fetchone()
        return int(row[0] or 0)

    def since(self, run_id: str, after: int) -> list[RunEvent]:
        """The run's events with ``seq > after``, oldest first."""
        live = self._live.get(run_id)
        if live is not None and (not live.events or live.events[0].seq <= after + 1):
            start = 0 if not live.events else max(0, after + 1 - live.events[0].seq)
            return live.events[start:]
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT seq, event, data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq",
                (run_id, after),
            ).fetchall()
        return [RunEvent(r[0], r[1], json.loads(r[2])) for r in rows]

    async def follow(self, run_id: str, after: int = 0) -> AsyncIterator[RunEvent]:
        """Every event after ``after`` as it is appended; the caller decides when to stop."""
        while True:
            live = self._live.get(run_id)
            waiter = live.changed if live is not None else None
            batch = self.since(run_id, after)
            for ev in batch:
                yield ev
                after = ev.seq
            if batch:
                continue
            if waiter is None:
                await asyncio.sleep(_IDLE_POLL_SECONDS)
            else:
                await waiter.wait()
