"""A lease on the server so two applies on one namespace never write at once.

The Assistants API has no atomic "create if absent", so the lock is a tagged vector
store (no files, so it costs nothing and never shows in assistant lists) whose
metadata says who holds it and until when. Races are resolved deterministically:
everyone who created a lock lists the locks again (twice, a short settle time apart);
the oldest live lock (by ``created_at``, then id) wins, and the others delete theirs
and stop with a message naming the holder.

The holder renews the lease in the background. A lock is stale when its lease has
expired, or when it was taken on this machine by a process that no longer exists (an
apply killed with SIGKILL); stale locks are removed automatically, and
``--force-unlock`` removes any lock.

Fencing: a process paused past its lease (laptop sleep, a stalled CI runner) must not
write once it resumes, since another apply may have broken its lock meanwhile. The
holder knows until when its lease is surely valid (``valid_until``: the start of the
last successful renewal + ttl, less a margin for clock skew); :meth:`ServerLock.check`
(before every write, no I/O) stops the apply once the wall clock is past it, and a
lapsed lease is never renewed again. :meth:`ServerLock.confirm` (at phase boundaries)
also re-reads the lock on the server.

An apply's write-ahead journal pages (:mod:`journal`) carry the token of the lock it
held: a page whose lock is gone or stale belongs to an apply that is over.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai

from orchestrator.ownership import LOCK_KEY, is_lock, marker_metadata
from orchestrator.reconcile.api import AmbiguousWriteError
from orchestrator.reconcile.errors import LockHeldError, LockLostError
from orchestrator.reconcile.target import FileStore

log = logging.getLogger("orchestrator.reconcile")

HOLDER_KEY = "orchestrator-lock-holder"
HOST_KEY = "orchestrator-lock-host"
PID_KEY = "orchestrator-lock-pid"
EXPIRES_KEY = "orchestrator-lock-expires"
OPERATION_KEY = "orchestrator-lock-operation"


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # cannot tell: rely on the lease
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clock_text(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class LockInfo:
    id: str
    created_at: int
    token: str
    holder: str
    host: str
    pid: int | None
    operation: str
    expires_at: float

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> LockInfo:
        meta = raw.get("metadata") or {}
        try:
            pid: int | None = int(meta.get(PID_KEY, ""))
        except ValueError:
            pid = None
        try:
            expires = float(meta.get(EXPIRES_KEY, "0"))
        except ValueError:
            expires = 0.0
        return cls(
            id=raw["id"],
            created_at=int(raw.get("created_at") or 0),
            token=meta.get(LOCK_KEY, ""),
            holder=meta.get(HOLDER_KEY, "?"),
            host=meta.get(HOST_KEY, ""),
            pid=pid,
            operation=meta.get(OPERATION_KEY, "apply"),
            expires_at=expires,
        )

    def stale_reason(self, now: float, hostname: str) -> str | None:
        if self.expires_at < now:
            return f"its lease expired at {_clock_text(self.expires_at)}"
        if self.host == hostname and self.pid is not None and not _pid_alive(self.pid):
            return f"process {self.pid} on this machine no longer exists"
        return None

    def describe(self) -> str:
        pid = f", pid {self.pid}" if self.pid is not None else ""
        return (
            f"{self.operation} by {self.holder}{pid} since {_clock_text(self.created_at)} "
            f"(lock {self.id})"
        )


def live_lock_tokens(raw_locks: list[dict[str, Any]], *, now: float | None = None) -> set[str]:
    """Tokens of the locks (raw vector stores) whose holder may still be running."""
    at = time.time() if now is None else now
    hostname = socket.gethostname()
    return {
        lk.token
        for lk in map(LockInfo.from_raw, raw_locks)
        if lk.stale_reason(at, hostname) is None
    }


class ServerLock:
    """Hold with ``with ServerLock(api, ns, "apply"):``; :meth:`check` raises if it was lost."""

    def __init__(
        self,
        api: FileStore,
        namespace: str,
        operation: str = "apply",
        *,
        ttl: float = 60.0,
        settle: float = 0.5,
        force: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.operation = operation
        self.ttl = ttl
        self.settle = settle
        self.force = force
        self.clock = clock
        self.hostname = socket.gethostname()
        self.token = secrets.token_hex(12)
        self.id: str | None = None
        self.notes: list[str] = []
        self.lost = False
        # Until when the lease is surely ours (see the module docstring), by our clock.
        self.valid_until = 0.0
        self.margin = min(ttl / 4, 10.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- listing ------------------------------------------------------------------------

    def locks(self) -> list[LockInfo]:
        return [
            LockInfo.from_raw(raw)
            for raw in self.api.list_vector_stores()
            if is_lock(raw.get("metadata"), self.namespace)
        ]

    def _metadata(self) -> dict[str, str]:
        try:
            user = getpass.getuser()
        except Exception:
            user = "unknown"
        return {
            **marker_metadata(self.namespace),
            LOCK_KEY: self.token,
            HOLDER_KEY: f"{user}@{self.hostname}"[:512],
            HOST_KEY: self.hostname[:512],
            PID_KEY: str(os.getpid()),
            OPERATION_KEY: self.operation,
            EXPIRES_KEY: str(int(self.clock() + self.ttl)),
        }

    def _delete(self, lock_id: str) -> None:
        self.api.delete_vector_store(lock_id, what=f"delete lock {lock_id}")

    def _held_message(self, other: LockInfo) -> str:
        left = max(0, int(other.expires_at - self.clock()))
        return (
            f"namespace {self.namespace!r} is locked: {other.describe()}; the lease ends in "
            f"{left} s unless renewed. Wait for it to finish, or, if no other apply is running, "
            "run again with --force-unlock."
        )

    # -- acquire / release ------------------------------------------------------------------

    def acquire(self) -> ServerLock:
        now = self.clock()
        for other in self.locks():
            why = other.stale_reason(now, self.hostname)
            if self.force:
                self._delete(other.id)
                self.notes.append(f"Removed lock: {other.describe()} (--force-unlock).")
            elif why:
                self._delete(other.id)
                self.notes.append(f"Removed a stale lock: {other.describe()}; {why}.")
            else:
                raise LockHeldError(self._held_message(other))
        self.id = self._create()
        for round_ in range(2):
            if round_:
                time.sleep(self.settle)
            now = self.clock()
            live = sorted(
                (
                    lk
                    for lk in self.locks()
                    if lk.token == self.token or lk.stale_reason(now, self.hostname) is None
                ),
                key=lambda lk: (lk.created_at, lk.id),
            )
            if not any(lk.token == self.token for lk in live):
                self.id = None
                raise LockHeldError(
                    f"the lock of namespace {self.namespace!r} was removed by another process "
                    "(--force-unlock?) while this one was taking it; run again."
                )
            if live[0].token != self.token:
                self.release()
                raise LockHeldError(self._held_message(live[0]))
        self._thread = threading.Thread(
            target=self._heartbeat, name="orchestrator-lock", daemon=True
        )
        self._thread.start()
        return self

    def _create(self) -> str:
        name = f"orchestrator lock ({self.namespace})"
        for _ in range(self.api.policy.attempts):
            started = self.clock()
            try:
                created = self.api.create_vector_store(name, self._metadata(), what="create lock")
                self._renewed(started)
                return str(created["id"])
            except AmbiguousWriteError:
                mine = [lk for lk in self.locks() if lk.token == self.token]
                if mine:
                    self._renewed(started)
                    return mine[0].id
        raise LockHeldError(
            f"could not create the lock of namespace {self.namespace!r}: the server kept failing"
        )

    def _renewed(self, started: float) -> None:
        # Measured from before the request: the server may have stamped it any time after.
        self.valid_until = started + self.ttl - self.margin

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            lock_id = self.id
            if lock_id is None:
                return
            started = self.clock()
            if started > self.valid_until:
                # Lapsed (paused, or renewals kept failing): another apply may have broken
                # the lock by now, so it is never renewed again.
                self.lost = True
                return
            try:
                self.api.update_vector_store(lock_id, self._metadata(), what="renew lock")
            except openai.NotFoundError:
                self.lost = True  # deleted by someone else (--force-unlock, a takeover)
                return
            except Exception as e:  # keep trying until the lease runs out
                log.warning("could not renew the lock: %s", e)
            else:
                self._renewed(started)

    def check(self) -> None:
        """Raise :class:`LockLostError` once the lease may have ended (no I/O: call it
        before every write)."""
        if not self.lost and self.clock() > self.valid_until:
            self.lost = True
        if self.lost:
            raise LockLostError(self._lost_message())

    def confirm(self) -> None:
        """:meth:`check`, then re-read the lock on the server (at phase boundaries)."""
        self.check()
        if not any(lk.token == self.token for lk in self.locks()):
            self.lost = True
            raise LockLostError(self._lost_message())

    def _lost_message(self) -> str:
        try:
            others = [lk for lk in self.locks() if lk.token != self.token]
        except Exception:  # the server is unreachable: say what is known
            others = []
        who = (
            f"{others[0].describe()} holds it now"
            if others
            else "its lease ended (this process was paused, or the server unreachable) and "
            "another apply may have taken over"
        )
        return (
            f"this {self.operation} lost the lock of namespace {self.namespace!r} at "
            f"{_clock_text(self.valid_until)}: {who}. It stopped there: nothing was written "
            "after that. Run plan again to see what the server holds now."
        )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.id is not None:
            lock_id, self.id = self.id, None
            try:
                self._delete(lock_id)
            except Exception as e:
                if not self.lost:  # a lost lock is usually gone already
                    log.warning("could not delete lock %s: %s (it expires by itself)", lock_id, e)

    def __enter__(self) -> ServerLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
