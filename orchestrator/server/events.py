"""The per-run event log: every state change and delta of a run, in order.

The engine appends events as a run executes (``thread.run.in_progress``,
``thread.message.delta``, ...); SSE responses read them back from any position and
wait for more. A run's events live in memory while it runs (and a little after), so
appending is cheap and readers are woken without polling the database.

What reaches SQLite: when a run stops for now (:meth:`EventLog.finish`: finished, or
waiting for tool outputs), its state changes since the last stop are written as one
compressed row of ``run_event_log``; every run that stopped in the same event-loop tick
shares one transaction. Deltas are not written: the finished objects are in the other
events, and the Assistants API never replays a finished run's stream. A log whose
stream can be resumed later (a background response, ``starting_after``) passes
``keep_deltas`` and its row holds them too. A finished run then costs one small row
(its ten state changes compress ~8x), not a transaction and a row per event.

All of this runs on the server's event loop: :meth:`EventLog.append` is synchronous
and wakes waiting readers through an :class:`asyncio.Event`.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from orchestrator.server.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run_event_log (
    run_id    TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    events    BLOB NOT NULL,  -- zlib(JSON [[seq, event, data], ...]), oldest first
    PRIMARY KEY (run_id, first_seq)
) WITHOUT ROWID;
"""
# Before run_event_log, every event was a row of run_events; such rows move over once.
_LEGACY = "run_events"

# How long a finished run's events stay in memory for readers still catching up.
_LINGER_SECONDS = 30.0
# A reader with nothing live to wait on re-reads the table this often.
_IDLE_POLL_SECONDS = 0.5

_Row = tuple[str, int, int, bytes]


def is_delta(event: str) -> bool:
    return event.endswith(".delta")


@dataclass
class RunEvent:
    seq: int
    event: str
    data: Any  # a wire object (run, step, message, delta, error)
    text: str = field(default="", repr=False, compare=False)  # ``data`` as JSON


@dataclass
class _Live:
    events: list[RunEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    next_seq: int = 1
    stored_upto: int = 0  # the last seq already written (or deliberately not)
    keep_deltas: bool = False


class EventLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.executescript(_SCHEMA)
        self._live: dict[str, _Live] = {}
        # Runs that stopped and whose events are not written yet (written once per tick).
        self._stopped: dict[str, _Live] = {}
        self._flush_scheduled = False
        # Write transactions made so far (a regression guard counts them).
        self.transactions = 0
        self._migrate_legacy()

    # -- writing --------------------------------------------------------------------

    def append(self, run_id: str, event: str, data: Any) -> RunEvent:
        """Record an event and wake the run's readers."""
        live = self._live.get(run_id)
        if live is None:
            seq = self.last_seq(run_id)
            live = self._live[run_id] = _Live(next_seq=seq + 1, stored_upto=seq)
        # The event holds a snapshot: the caller may go on changing ``data`` (a message
        # it keeps appending to), and a live reader must see it as it was when emitted,
        # or a delta would repeat what its ``created`` event already shows.
        text = json.dumps(data, ensure_ascii=False)
        ev = RunEvent(live.next_seq, event, json.loads(text), text)
        live.next_seq += 1
        live.events.append(ev)
        # Wake everyone waiting, then give later waiters a fresh event to wait on.
        live.changed.set()
        live.changed = asyncio.Event()
        return ev

    def finish(self, run_id: str, *, keep_deltas: bool = False) -> None:
        """The run reached a state with no further events for now: write its events
        (this tick, with every other run that stopped) and free memory soon.

        ``keep_deltas``: the stream can be resumed from any position later, so the
        deltas are written too.
        """
        live = self._live.get(run_id)
        if live is None:
            return
        live.keep_deltas = live.keep_deltas or keep_deltas
        self._stopped[run_id] = live

        def drop() -> None:
            # Only if nothing was appended meanwhile (a submit may have resumed the run).
            if self._live.get(run_id) is live and live.events and live.events[-1] is last:
                self._release(run_id, live)

        last = live.events[-1] if live.events else None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (shutdown): write and drop now
            self._release(run_id, live)
            return
        loop.call_later(_LINGER_SECONDS, drop)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the unwritten events of every run that stopped, in one transaction."""
        self._flush_scheduled = False
        stopped, self._stopped = self._stopped, {}
        rows = [r for run_id, live in stopped.items() if (r := _unwritten(run_id, live))]
        if rows:
            self._write(rows)

    def close(self) -> None:
        """Write what every run in memory has not written yet (the server is stopping)."""
        for run_id, live in self._live.items():
            self._stopped.setdefault(run_id, live)
        self.flush()

    def _write(self, rows: list[_Row]) -> None:
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO run_event_log (run_id, first_seq, last_seq, events) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
        self.transactions += 1

    def _release(self, run_id: str, live: _Live) -> None:
        self._stopped[run_id] = live
        self.flush()
        del self._live[run_id]
        live.changed.set()

    def delete_runs(self, run_ids: list[str]) -> None:
        """Forget the events of deleted runs."""
        for run_id in run_ids:
            self._stopped.pop(run_id, None)
        with self.store.transaction() as conn:
            conn.executemany("DELETE FROM run_event_log WHERE run_id = ?", [(r,) for r in run_ids])
        for run_id in run_ids:
            live = self._live.pop(run_id, None)
            if live is not None:
                live.changed.set()

    def _migrate_legacy(self) -> None:
        with self.store.transaction() as conn:
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_LEGACY,)
            ).fetchone():
                return
            runs: dict[str, list[RunEvent]] = {}
            for run_id, seq, event, text in conn.execute(
                f"SELECT run_id, seq, event, data FROM {_LEGACY} ORDER BY run_id, seq"
            ):
                runs.setdefault(run_id, []).append(RunEvent(seq, event, None, text))
            conn.executemany(
                "INSERT OR REPLACE INTO run_event_log (run_id, first_seq, last_seq, events) "
                "VALUES (?, ?, ?, ?)",
                [(r, evs[0].seq, evs[-1].seq, _pack(evs)) for r, evs in runs.items()],
            )
            conn.execute(f"DROP TABLE {_LEGACY}")

    # -- reading --------------------------------------------------------------------

    def last_seq(self, run_id: str) -> int:
        live = self._live.get(run_id)
        if live is not None:
            return live.next_seq - 1
        with self.store.reading() as conn:
            row = conn.execute(
                "SELECT MAX(last_seq) FROM run_event_log WHERE run_id = ?", (run_id,)
            ).fetchone()
        return int(row[0] or 0)

    def since(self, run_id: str, after: int) -> list[RunEvent]:
        """The run's events with ``seq > after``, oldest first."""
        live = self._live.get(run_id)
        if live is not None and (not live.events or live.events[0].seq <= after + 1):
            start = 0 if not live.events else max(0, after + 1 - live.events[0].seq)
            return live.events[start:]
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT events FROM run_event_log WHERE run_id = ? AND last_seq > ? "
                "ORDER BY first_seq",
                (run_id, after),
            ).fetchall()
        stored = [ev for r in rows for ev in _unpack(r[0]) if ev.seq > after]
        if live is not None:  # the live part follows what was written before it
            stored = [ev for ev in stored if ev.seq < live.events[0].seq] + live.events
        return stored

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


def _unwritten(run_id: str, live: _Live) -> _Row | None:
    """The run's events since its last write as one row (None if there are none)."""
    fresh = [
        e
        for e in live.events
        if e.seq > live.stored_upto and (live.keep_deltas or not is_delta(e.event))
    ]
    live.stored_upto = live.next_seq - 1
    if not fresh:
        return None
    return (run_id, fresh[0].seq, fresh[-1].seq, _pack(fresh))


def _pack(events: list[RunEvent]) -> bytes:
    # The data is spliced in as the JSON text it already is (no second encoding).
    body = ",".join(f"[{e.seq},{json.dumps(e.event)},{e.text}]" for e in events)
    return zlib.compress(f"[{body}]".encode())


def _unpack(blob: bytes) -> list[RunEvent]:
    return [RunEvent(seq, event, data) for seq, event, data in json.loads(zlib.decompress(blob))]
