"""Readers never wait for the writer, and indexing writes in small transactions
(issue 15): checked by blocking the writer and by counting rows per transaction."""

from __future__ import annotations

import threading
from pathlib import Path

from orchestrator.server.config import ServerConfig
from orchestrator.server.context import ServerContext
from orchestrator.server.indexing import BATCH_CHUNKS
from orchestrator.server.services import vector_stores as vsf
from orchestrator.server.services.files import store_file
from orchestrator.server.store import Store
from tests.support.waiting import wait_for


def test_a_reader_sees_the_last_commit_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    store.insert("thread", {"id": "thread_a", "n": 1})
    writing, done = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction() as conn:
            conn.execute('UPDATE objects SET data = \'{"id": "thread_a", "n": 2}\'')
            writing.set()
            done.wait()

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert writing.wait(30)
        # The writer still holds the lock and its transaction: this read does not wait
        # for it (it would deadlock here) and sees the last commit.
        assert store.get("thread", "thread_a") == {"id": "thread_a", "n": 1}
        assert [o["n"] for o in store.all("thread")] == [1]
    finally:
        done.set()
        t.join()
    assert store.get("thread", "thread_a") == {"id": "thread_a", "n": 2}
    store.close()


def test_indexing_a_large_file_commits_in_batches(tmp_path: Path) -> None:
    c = ServerContext.build(ServerConfig(db_path=tmp_path / "db.sqlite3"))
    c.indexer.start()
    try:
        words = [f"word{i} common" for i in range(80 * BATCH_CHUNKS)]
        body = ("\n\n".join(words)).encode()
        file = store_file(c.store, "big.txt", body, "assistants")
        strategy = {
            "type": "static",
            "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0},
        }
        vs = vsf.create_vector_store(c, {"file_ids": [file["id"]], "chunking_strategy": strategy})

        def status() -> str:
            return vsf.view_vector_store(c.store, vsf.require_vector_store(c.store, vs["id"]))[
                "status"
            ]

        wait_for(lambda: status() == "completed", 120)
        with c.store.reading() as conn:
            chunks = conn.execute("SELECT count(*) FROM fs_chunks").fetchone()[0]
        assert chunks > 2 * BATCH_CHUNKS, "the file is several batches long"
        # SQLite counts four changes per chunk (its row and FTS5's rows), plus the totals
        # row; one transaction for the whole file would be four per chunk of the file.
        assert c.store.largest_write <= 4 * BATCH_CHUNKS + 4, c.store.largest_write
        hits = vsf.search(c.store, [vs["id"]], "word7")
        assert hits and hits[0].file_id == file["id"]
    finally:
        c.indexer.stop()
        c.store.close()
