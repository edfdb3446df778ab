"""The server's persistence: every API object as a JSON document in SQLite (WAL).

All SQL lives here and in the modules that own a specialised table through
:meth:`Store.transaction` (the run event log, the search index), so another database
can follow by replacing this module. Objects are stored in their wire format; ids are
time-sortable (see :mod:`ids`), so ordering and cursor pagination use the id alone.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from orchestrator.server.errors import invalid, not_found

Order = Literal["asc", "desc"]
_COPY_CHUNK = 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id     TEXT PRIMARY KEY,
    kind   TEXT NOT NULL,
    parent TEXT,
    data   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_kind_parent ON objects (kind, parent, id);
-- A thread's messages of one run (messages.list(run_id=...), a run's own messages):
-- the expression matches _where's exactly, so SQLite seeks instead of scanning the thread.
CREATE INDEX IF NOT EXISTS objects_kind_parent_run
    ON objects (kind, parent, json_extract(data, '$.run_id'), id);
"""

# Wire names of object kinds, for "No <kind> found with id ..." errors.
_LABELS = {
    "agent": "agent",
    "assistant": "assistant",
    "thread": "thread",
    "message": "message",
    "run": "run",
    "run_step": "run step",
    "file": "file",
    "vector_store": "vector store",
    "vector_store_file": "vector store file",
    "vector_store_file_batch": "file batch",
}


@dataclass
class Page:
    data: list[dict[str, Any]]
    has_more: bool

    def body(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": self.data,
            "first_id": self.data[0]["id"] if self.data else None,
            "last_id": self.data[-1]["id"] if self.data else None,
            "has_more": self.has_more,
        }


@dataclass
class ListParams:
    limit: int = 20
    order: Order = "desc"
    after: str | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 100:
            raise invalid("Invalid 'limit': integer must be between 1 and 100.", param="limit")
        if self.order not in ("asc", "desc"):
            raise invalid("Invalid 'order': expected 'asc' or 'desc'.", param="order")


@dataclass
class HistoryMessage:
    """What a prompt needs of a stored thread message (see :meth:`Store.thread_history`)."""

    role: str
    run_id: str | None
    text: str  # the text parts, joined by newlines
    attachments: list[dict[str, Any]]


class StoreOpenError(OSError):
    """The state file cannot be opened for writing (read-only, not a database, ...).

    An ``OSError``: callers that start a server already report those in one line.
    """


class Store:
    """A thread-safe SQLite document store. ``path=None`` keeps everything in memory.

    One connection writes, behind a lock. On a file database every thread also reads
    through its own read-only connection: under WAL a reader sees the last commit and
    never waits for a writer (the indexing worker, a long write), so requests that only
    read are not stalled by one that writes. In memory, and inside a write transaction
    (which must see its own changes), reads share the writer's connection.
    """

    def __init__(self, path: Path | None, blob_dir: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._local = threading.local()  # per thread: its reader, its write depth
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()  # not the writer's: a reader never waits
        try:
            self._conn = sqlite3.connect(
                str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
            )
            self._conn.row_factory = sqlite3.Row
            with self._lock:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
                self._conn.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise StoreOpenError(
                f"cannot open the state database {path} for writing ({e}); make the file and "
                "its folder writable, or choose another with --db"
            ) from None
        self.blob_dir = blob_dir or (path.parent / "blobs" if path else None)
        self._memory_blobs: dict[str, bytes] = {}
        # Documents decoded so far, per kind: regression guards count them (a history
        # read twice per run shows as twice the thread's messages).
        self.decoded: Counter[str] = Counter()
        # The most rows one write transaction changed: how long others can wait behind it.
        self.largest_write = 0

    # -- transactions -------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Exclusive access to the writer connection inside one transaction."""
        with self._lock:
            self._local.writing = getattr(self._local, "writing", 0) + 1
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                before = self._conn.total_changes
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self.largest_write = max(self.largest_write, self._conn.total_changes - before)
                self._conn.execute("COMMIT")
            finally:
                self._local.writing -= 1

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection to read from, with one consistent snapshot for every statement
        inside; on a file database it never waits for a writer."""
        reader = self._reader()
        if reader is None:
            with self._lock:
                yield self._conn
            return
        if reader.in_transaction:  # nested: the outer snapshot holds
            yield reader
            return
        reader.execute("BEGIN")
        try:
            yield reader
        finally:
            reader.execute("COMMIT")

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read-only connection (None: read through the writer's)."""
        if self.path is None or getattr(self._local, "writing", 0):
            return None
        reader: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                check_same_thread=False,
                isolation_level=None,
            )
            reader.row_factory = sqlite3.Row
            self._local.reader = reader
            with self._readers_lock:
                self._readers.append(reader)
        return reader

    def executescript(self, sql: str) -> None:
        """Create a module's own tables (idempotent DDL)."""
        with self._lock:
            self._conn.executescript(sql)

    def close(self) -> None:
        with self._lock, self._readers_lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._conn.close()

    # -- documents ------------------------------------------------------------------

    def insert(self, kind: str, obj: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO objects (id, kind, parent, data) VALUES (?, ?, ?, ?)",
                (obj["id"], kind, parent, json.dumps(obj, ensure_ascii=False)),
            )
        return obj

    def get(self, kind: str, object_id: str, parent: str | None = None) -> dict[str, Any] | None:
        with self.reading() as conn:
            row = conn.execute(
                "SELECT data, parent FROM objects WHERE id = ? AND kind = ?", (object_id, kind)
            ).fetchone()
        if row is None or (parent is not None and row["parent"] != parent):
            return None
        self.decoded[kind] += 1
        return json.loads(row["data"])

    def require(self, kind: str, object_id: str, parent: str | None = None) -> dict[str, Any]:
        """Like :meth:`get`, but a missing object is a 404 API error."""
        obj = self.get(kind, object_id, parent)
        if obj is None:
            raise not_found(_LABELS.get(kind, kind), object_id)
        return obj

    def put(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace a stored object with ``obj`` (same id)."""
        with self.transaction() as c:
            cur = c.execute(
                "UPDATE objects SET data = ? WHERE id = ? AND kind = ?",
                (json.dumps(obj, ensure_ascii=False), obj["id"], kind),
            )
            if cur.rowcount == 0:
                raise not_found(_LABELS.get(kind, kind), obj["id"])
        return obj

    def mutate(
        self, kind: str, object_id: str, change: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Atomic read-modify-write: ``change`` edits the object in place."""
        with self.transaction() as c:
            row = c.execute(
                "SELECT data FROM objects WHERE id = ? AND kind = ?", (object_id, kind)
            ).fetchone()
            if row is None:
                raise not_found(_LABELS.get(kind, kind), object_id)
            obj = json.loads(row["data"])
            change(obj)
            c.execute(
                "UPDATE objects SET data = ? WHERE id = ?",
                (json.dumps(obj, ensure_ascii=False), object_id),
            )
        return obj

    def delete(self, kind: str, object_id: str) -> bool:
        with self.transaction() as c:
            cur = c.execute("DELETE FROM objects WHERE id = ? AND kind = ?", (object_id, kind))
        return cur.rowcount > 0

    def delete_children(self, parent: str) -> int:
        """Delete every object whose parent is ``parent`` (e.g. a thread's messages)."""
        with self.transaction() as c:
            cur = c.execute("DELETE FROM objects WHERE parent = ?", (parent,))
        return cur.rowcount

    def _where(
        self, kind: str, parent: str | None, where: dict[str, Any] | None
    ) -> tuple[str, list[Any]]:
        sql, args = "kind = ?", [kind]
        if parent is not None:
            sql += " AND parent = ?"
            args.append(parent)
        for field, value in (where or {}).items():
            # Field names come from our code, never from requests.
            if isinstance(value, (list, tuple)):
                # Any of several values, e.g. {"status": ("queued", "in_progress")}.
                marks = ", ".join("?" * len(value))
                sql += f" AND json_extract(data, '$.{field}') IN ({marks})"
                args.extend(value)
                continue
            sql += f" AND json_extract(data, '$.{field}') IS ?"
            args.append(value)
        return sql, args

    def list(
        self,
        kind: str,
        params: ListParams | None = None,
        *,
        parent: str | None = None,
        where: dict[str, Any] | None = None,
    ) -> Page:
        """A page of objects, with OpenAI's cursor semantics for ``after``/``before``."""
        p = params or ListParams()
        sql, args = self._where(kind, parent, where)
        asc = p.order == "asc"
        # `after` continues in the list's order; `before` pages back towards its start.
        if p.after:
            sql += " AND id > ?" if asc else " AND id < ?"
            args.append(p.after)
        if p.before:
            sql += " AND id < ?" if asc else " AND id > ?"
            args.append(p.before)
        backwards = bool(p.before) and not p.after
        direction = "ASC" if asc != backwards else "DESC"
        with self.reading() as conn:
            rows = conn.execute(
                f"SELECT data FROM objects WHERE {sql} ORDER BY id {direction} LIMIT ?",
                [*args, p.limit + 1],
            ).fetchall()
        data = [json.loads(r["data"]) for r in rows[: p.limit]]
        self.decoded[kind] += len(data)
        if backwards:
            data.reverse()
        return Page(data=data, has_more=len(rows) > p.limit)

    def all(
        self, kind: str, *, parent: str | None = None, where: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every matching object, oldest first (for internal use, not for list endpoints)."""
        sql, args = self._where(kind, parent, where)
        with self.reading() as conn:
            rows = conn.execute(
                f"SELECT data FROM objects WHERE {sql} ORDER BY id ASC", args
            ).fetchall()
        self.decoded[kind] += len(rows)
        return [json.loads(r["data"]) for r in rows]

    def thread_history(self, thread_id: str) -> list[HistoryMessage]:
        """A thread's messages, oldest first, as a prompt reads them. SQLite picks the
        fields and joins the text parts, so a long thread costs no decoding of whole
        documents in Python (a run on a 10k-message thread reads them all)."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT json_extract(data, '$.role'), json_extract(data, '$.run_id'), "
                "(SELECT group_concat(json_extract(p.value, '$.text.value'), char(10)) "
                " FROM json_each(data, '$.content') AS p "
                " WHERE json_extract(p.value, '$.type') = 'text'), "
                "json_extract(data, '$.attachments') "
                "FROM objects WHERE kind = 'message' AND parent = ? ORDER BY id ASC",
                (thread_id,),
            ).fetchall()
        self.decoded["message"] += len(rows)
        return [
            HistoryMessage(
                role=role,
                run_id=run_id,
                text=text or "",
                attachments=json.loads(attachments) if attachments not in (None, "[]") else [],
            )
            for role, run_id, text, attachments in rows
        ]

    # -- blobs (file contents) --------------------------------------------------------

    def write_blob(self, key: str, data: bytes | BinaryIO) -> int:
        """Store bytes, or copy a file object in chunks (uploads never sit in RAM whole).

        Returns the size. Written to a temporary file renamed into place; on any failure
        (a full disk) the temporary file is removed, so no partial blob stays behind.
        """
        if self.blob_dir is None:
            content = data if isinstance(data, bytes) else data.read()
            self._memory_blobs[key] = content
            return len(content)
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.blob_dir / f".{key}.tmp"
        try:
            with open(tmp, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, _COPY_CHUNK)
                size = out.tell()
            tmp.replace(self.blob_dir / key)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def read_blob(self, key: str) -> bytes | None:
        if self.blob_dir is None:
            return self._memory_blobs.get(key)
        try:
            return (self.blob_dir / key).read_bytes()
        except FileNotFoundError:
            return None

    def delete_blob(self, key: str) -> None:
        if self.blob_dir is None:
            self._memory_blobs.pop(key, None)
            return
        (self.blob_dir / key).unlink(missing_ok=True)
