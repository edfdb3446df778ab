"""Files, vector stores and the search index across server restarts and crashes."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

import openai
import pytest


@pytest.fixture(scope="module")
def persistent(server_factory):
    return server_factory()


def _db(server) -> sqlite3.Connection:
    return sqlite3.connect(server.db_path, isolation_level=None)


def test_state_and_index_survive_a_restart(persistent, spec_checker) -> None:
    client = persistent.client(spec_checker)
    f = client.files.create(
        file=("returns.md", "Items can be returned within 30 days. 환불은 카드로 됩니다.".encode()),
        purpose="assistants",
    )
    vs = client.vector_stores.create(name="durable", metadata={"k": "v"})
    client.vector_stores.files.create_and_poll(
        file_id=f.id, vector_store_id=vs.id, attributes={"lang": "en"}
    )
    before = client.vector_stores.search(vs.id, query="returned within 30 days")
    assert before.data[0].file_id == f.id

    persistent.restart()
    client = persistent.client(spec_checker)
    assert client.files.retrieve(f.id).filename == "returns.md"
    assert client.files.content(f.id).text.startswith("Items can be returned")
    got = client.vector_stores.retrieve(vs.id)
    assert got.metadata == {"k": "v"} and got.file_counts.completed == 1
    vs_file = client.vector_stores.files.retrieve(f.id, vector_store_id=vs.id)
    assert vs_file.status == "completed" and vs_file.attributes == {"lang": "en"}
    after = client.vector_stores.search(vs.id, query="returned within 30 days")
    assert [(h.file_id, h.score) for h in after.data] == [(h.file_id, h.score) for h in before.data]
    assert client.vector_stores.search(vs.id, query="환불").data[0].file_id == f.id


def test_files_left_in_progress_by_a_crash_are_indexed_on_start(persistent, spec_checker) -> None:
    client = persistent.client(spec_checker)
    big = client.files.create(
        file=("big.txt", ("alpha beta gamma delta " * 30000 + "needle").encode()),
        purpose="assistants",
    )
    small = client.files.create(file=("small.txt", b"haystack only"), purpose="assistants")
    vs = client.vector_stores.create(name="crash")
    batch = client.vector_stores.file_batches.create(
        vector_store_id=vs.id, file_ids=[big.id, small.id]
    )
    persistent.stop(kill=True)  # no graceful shutdown
    # Whatever the worker managed before the kill, make the crash state certain: both
    # files in progress, no chunks written.
    with closing(_db(persistent)) as db:
        db.execute("UPDATE vs_files SET status = 'in_progress', usage_bytes = 0")
        db.execute(
            "DELETE FROM fs_fts WHERE rowid IN "
            "(SELECT id FROM fs_chunks WHERE vector_store_id = ?)",
            (vs.id,),
        )
        db.execute("DELETE FROM fs_chunks WHERE vector_store_id = ?", (vs.id,))
    persistent.start()
    client = persistent.client(spec_checker)
    done = client.vector_stores.file_batches.poll(batch.id, vector_store_id=vs.id)
    assert done.status == "completed"
    assert done.file_counts.completed == 2 and done.file_counts.in_progress == 0
    assert client.vector_stores.search(vs.id, query="needle").data[0].file_id == big.id


def test_expiry_of_files_and_vector_stores(persistent, spec_checker) -> None:
    client = persistent.client(spec_checker)
    f = client.files.create(
        file=("temp.txt", b"short lived"),
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    keep = client.files.create(file=("keep.txt", b"long lived text"), purpose="assistants")
    vs = client.vector_stores.create(
        name="expiring",
        file_ids=[f.id, keep.id],
        expires_after={"anchor": "last_active_at", "days": 1},
    )
    client.vector_stores.files.poll(keep.id, vector_store_id=vs.id)
    client.vector_stores.files.poll(f.id, vector_store_id=vs.id)
    # Let the clock pass both expiry times (edit the stored times while stopped).
    persistent.stop()
    past = int(time.time()) - 10
    with closing(_db(persistent)) as db:
        for object_id in (f.id, vs.id):
            db.execute(
                "UPDATE objects SET data = json_set(data, '$.expires_at', ?) WHERE id = ?",
                (past, object_id),
            )
    persistent.start()
    client = persistent.client(spec_checker)

    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(f.id)
    assert f.id not in [x.id for x in client.files.list()]
    assert client.files.retrieve(keep.id).id == keep.id

    expired = client.vector_stores.retrieve(vs.id)
    assert expired.status == "expired"
    assert expired.file_counts.total == 1  # the expired file was detached when deleted
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.search(vs.id, query="long lived")
    assert "expired" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.files.create(vector_store_id=vs.id, file_id=keep.id)
    assert "expired" in err.value.body["message"]
    # An expired store can still be read and deleted.
    assert client.vector_stores.delete(vs.id).deleted
