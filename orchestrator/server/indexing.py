"""The background worker that indexes vector store files, like OpenAI's ingestion.

Attaching a file returns at once with ``status: "in_progress"``; one worker thread per
store extracts the file's text (cached per file), chunks it, writes the chunks into
the FTS index and marks the file ``completed`` — or ``failed`` with a ``last_error``
(``unsupported_file`` / ``invalid_file`` for what cannot be read, ``server_error`` for
anything else). A job carries the row's generation and writes nothing if the file was
re-attached, cancelled or detached meanwhile.

On start the worker re-queues every file left ``in_progress`` (the server stopped
mid-indexing): file bytes are durable, so the work is simply redone. It also deletes
expired files once a minute.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass

from orchestrator.server.services.files import purge_expired_files
from orchestrator.server.store import Store
from orchestrator.server.tools import file_search, index_tables
from orchestrator.server.tools.chunking import ChunkingStrategy, chunk_text
from orchestrator.server.tools.extract import ExtractionError, extract_text

log = logging.getLogger("orchestrator.server.indexing")

PURGE_INTERVAL_SECONDS = 60.0
# Chunks written per transaction (a file of 100k chunks is ~400 short transactions).
BATCH_CHUNKS = 256


@dataclass(frozen=True)
class Job:
    vector_store_id: str
    file_id: str
    gen: int


class Indexer:
    """One server's worker (it lives on ``ServerContext.indexer``); :meth:`start` it at
    server start, :meth:`stop` it before the store closes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="vector-store-indexer", daemon=True)

    def start(self) -> None:
        index_tables.ensure(self.store)
        purge_expired_files(self.store)
        with self.store.transaction() as conn:
            stale = conn.execute(
                "SELECT vector_store_id, file_id, gen FROM vs_files "
                "WHERE status = 'in_progress' ORDER BY seq"
            ).fetchall()
        for vs_id, file_id, gen in stale:
            self._queue.put(Job(vs_id, file_id, gen))
        if stale:
            log.info("re-indexing %d file(s) left in progress by the last run", len(stale))
        self._thread.start()

    def submit(self, vector_store_id: str, file_id: str, gen: int) -> None:
        """Index this attachment (``gen``: its ``vs_files`` generation) in the background."""
        self._queue.put(Job(vector_store_id, file_id, gen))

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                job = self._queue.get(timeout=PURGE_INTERVAL_SECONDS)
            except queue.Empty:
                self._safely(lambda: purge_expired_files(self.store))
                continue
            if job is None:
                return
            self._safely(lambda job=job: self._index(job))

    def _safely(self, work: object) -> None:
        try:
            work()  # type: ignore[operator]
        except Exception:
            # A closed store (shutdown) or a bug: log, keep the worker alive.
            log.exception("indexing worker error")

    def _current(self, job: Job) -> str | None:
        """The row's chunking strategy (JSON) if the job is still wanted, else None."""
        with self.store.reading() as conn:
            row = conn.execute(
                "SELECT status, gen, chunking FROM vs_files "
                "WHERE vector_store_id = ? AND file_id = ?",
                (job.vector_store_id, job.file_id),
            ).fetchone()
        if row is None or row[0] != "in_progress" or row[1] != job.gen:
            return None
        return row[2]

    def _index(self, job: Job) -> None:
        current = self._current(job)
        if current is None:
            return
        strategy = ChunkingStrategy.from_wire(json.loads(current))
        try:
            filename, segments = self._parsed(job.file_id)
        except ExtractionError as exc:
            self._finish(job, "failed", error={"code": exc.code, "message": exc.message})
            return
        except Exception as exc:
            log.exception("extracting %s failed", job.file_id)
            self._finish(
                job,
                "failed",
                error={"code": "server_error", "message": f"Indexing failed: {exc}"},
            )
            return
        text = "\n\n".join(s for s in segments if s)
        prepared = file_search.prepare([c.text for c in chunk_text(text, strategy)])
        self._finish(
            job,
            "completed",
            filename=filename,
            chunks=prepared,
            usage_bytes=len(text.encode("utf-8")),
        )

    def _parsed(self, file_id: str) -> tuple[str, list[str]]:
        obj = self.store.get("file", file_id)
        if obj is None:
            raise ExtractionError("invalid_file", f"File '{file_id}' no longer exists.")
        with self.store.reading() as conn:
            row = conn.execute(
                "SELECT segments FROM fs_parsed WHERE file_id = ?", (file_id,)
            ).fetchone()
        if row is not None:
            return obj["filename"], json.loads(row[0])
        data = self.store.read_blob(file_id)
        if data is None:
            raise ExtractionError("invalid_file", f"The content of file '{file_id}' is missing.")
        segments = extract_text(obj["filename"], data).segments
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO fs_parsed (file_id, segments) VALUES (?, ?)",
                (file_id, json.dumps(segments, ensure_ascii=False)),
            )
        if self.store.get("file", file_id) is None:
            # Deleted while we extracted: do not leave its text behind.
            with self.store.transaction() as conn:
                conn.execute("DELETE FROM fs_parsed WHERE file_id = ?", (file_id,))
        return obj["filename"], segments

    def _wanted(self, conn: sqlite3.Connection, job: Job) -> bool:
        """Whether the job still stands; if not, drop the chunks it wrote (the file was
        re-attached, cancelled or detached while we worked)."""
        row = conn.execute(
            "SELECT status, gen FROM vs_files WHERE vector_store_id = ? AND file_id = ?",
            (job.vector_store_id, job.file_id),
        ).fetchone()
        if row is not None and row[0] == "in_progress" and row[1] == job.gen:
            return True
        # The one worker runs jobs in order: a newer job for this file has not started.
        file_search.remove_chunks(conn, job.vector_store_id, job.file_id)
        return False

    def _finish(
        self,
        job: Job,
        status: str,
        *,
        error: dict[str, str] | None = None,
        filename: str = "",
        chunks: list[tuple[str, str, int]] | None = None,
        usage_bytes: int = 0,
    ) -> None:
        # The chunks go in small transactions, so requests that write wait for one
        # batch at most, never for a whole file; each batch checks the job is still
        # wanted, and a job that is not leaves nothing behind.
        chunks = chunks or []
        for first in range(0, len(chunks), BATCH_CHUNKS):
            with self.store.transaction() as conn:
                if not self._wanted(conn, job):
                    return
                if first == 0:  # what a crash mid-indexing left, before a re-queue
                    file_search.remove_chunks(conn, job.vector_store_id, job.file_id)
                batch = chunks[first : first + BATCH_CHUNKS]
                file_search.add_chunks(
                    conn, job.vector_store_id, job.file_id, filename, batch, first
                )
        with self.store.transaction() as conn:
            if not self._wanted(conn, job):
                return
            conn.execute(
                "UPDATE vs_files SET status = ?, usage_bytes = ?, last_error = ? "
                "WHERE vector_store_id = ? AND file_id = ?",
                (
                    status,
                    usage_bytes,
                    json.dumps(error, ensure_ascii=False) if error else None,
                    job.vector_store_id,
                    job.file_id,
                ),
            )
