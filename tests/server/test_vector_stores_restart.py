"""Files, vector stores and the search index across a server crash and restart.

One server is prepared with three situations, killed (no graceful shutdown), given the
state a crash mid-indexing and the passing of expiry times would leave, and started
again; each test then checks one situation.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from tests.support.wire_check import SpecChecker


@dataclass
class Restarted:
    client: openai.OpenAI
    checker: SpecChecker
    before: dict[str, Any]


@pytest.fixture(scope="module")
def restarted(server_factory) -> Restarted:
    server = server_factory()
    checker = SpecChecker()
    client = server.client(checker)
    ids: dict[str, Any] = {}

    # 1. Indexed content, attributes and metadata.
    f = client.files.create(
        file=("returns.md", "Items can be returned within 30 days. 환불은 카드로 됩니다.".encode()),
        purpose="assistants",
    )
    vs = client.vector_stores.create(name="durable", metadata={"k": "v"})
    client.vector_stores.files.create_and_poll(
        file_id=f.id, vector_store_id=vs.id, attributes={"lang": "en"}
    )
    hits = client.vector_stores.search(vs.id, query="returned within 30 days").data
    ids["durable"] = (f.id, vs.id, [h.file_id for h in hits])

    # 2. A batch the crash interrupts.
    big = client.files.create(
        file=("big.txt", ("alpha beta gamma delta " * 30000 + "needle").encode()),
        purpose="assistants",
    )
    small = client.files.create(file=("small.txt", b"haystack only"), purpose="assistants")
    crash_vs = client.vector_stores.create(name="crash")
    batch = client.vector_stores.file_batches.create(
        vector_store_id=crash_vs.id, file_ids=[big.id, small.id]
    )
    ids["crash"] = (big.id, crash_vs.id, batch.id)

    # 3. A file and a store that will be past their expiry.
    temp = client.files.create(
        file=("temp.txt", b"short lived"),
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    keep = client.files.create(file=("keep.txt", b"long lived text"), purpose="assistants")
    exp_vs = client.vector_stores.create(
        name="expiring",
        file_ids=[temp.id, keep.id],
        expires_after={"anchor": "last_active_at", "days": 1},
    )
    client.vector_stores.files.poll(keep.id, vector_store_id=exp_vs.id)
    client.vector_stores.files.poll(temp.id, vector_store_id=exp_vs.id)
    ids["expiry"] = (temp.id, keep.id, exp_vs.id)

    server.stop(kill=True)
    past = int(time.time()) - 10
    with closing(sqlite3.connect(server.db_path, isolation_level=None)) as db:
        # Whatever the worker managed before the kill, make the crash state certain:
        # the batch's files in progress, none of their chunks written.
        db.execute(
            "UPDATE vs_files SET status = 'in_progress', usage_bytes = 0 WHERE vector_store_id = ?",
            (crash_vs.id,),
        )
        db.execute(
            "DELETE FROM fs_fts WHERE rowid IN "
            "(SELECT id FROM fs_chunks WHERE vector_store_id = ?)",
            (crash_vs.id,),
        )
        db.execute("DELETE FROM fs_chunks WHERE vector_store_id = ?", (crash_vs.id,))
        # Let the clock pass both expiry times.
        for object_id in (temp.id, exp_vs.id):
            db.execute(
                "UPDATE objects SET data = json_set(data, '$.expires_at', ?) WHERE id = ?",
                (past, object_id),
            )
    server.start()
    return Restarted(client=server.client(checker), checker=checker, before=ids)


def test_state_and_index_survive_a_crash(restarted: Restarted) -> None:
    client = restarted.client
    file_id, vs_id, hits = restarted.before["durable"]
    assert client.files.retrieve(file_id).filename == "returns.md"
    assert client.files.content(file_id).text.startswith("Items can be returned")
    got = client.vector_stores.retrieve(vs_id)
    assert got.metadata == {"k": "v"} and got.file_counts.completed == 1
    vs_file = client.vector_stores.files.retrieve(file_id, vector_store_id=vs_id)
    assert vs_file.status == "completed" and vs_file.attributes == {"lang": "en"}
    after = client.vector_stores.search(vs_id, query="returned within 30 days").data
    # (Scores may move: other stores' files joined the index since.)
    assert [h.file_id for h in after] == hits
    assert client.vector_stores.search(vs_id, query="환불").data[0].file_id == file_id
    assert not restarted.checker.violations, restarted.checker.violations


def test_files_left_in_progress_are_indexed_on_start(restarted: Restarted) -> None:
    client = restarted.client
    big_id, vs_id, batch_id = restarted.before["crash"]
    done = client.vector_stores.file_batches.poll(batch_id, vector_store_id=vs_id)
    assert done.status == "completed"
    assert done.file_counts.completed == 2 and done.file_counts.in_progress == 0
    assert client.vector_stores.search(vs_id, query="needle").data[0].file_id == big_id
    assert not restarted.checker.violations, restarted.checker.violations


def test_expired_files_are_deleted_and_stores_read_expired(restarted: Restarted) -> None:
    client = restarted.client
    temp_id, keep_id, vs_id = restarted.before["expiry"]
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(temp_id)
    assert temp_id not in [x.id for x in client.files.list()]
    assert client.files.retrieve(keep_id).id == keep_id

    expired = client.vector_stores.retrieve(vs_id)
    assert expired.status == "expired"
    assert expired.file_counts.total == 1  # the expired file was detached when deleted
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.search(vs_id, query="long lived")
    assert "expired" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.files.create(vector_store_id=vs_id, file_id=keep_id)
    assert "expired" in err.value.body["message"]
    # An expired store can still be read and deleted.
    assert client.vector_stores.delete(vs_id).deleted
    assert not restarted.checker.violations, restarted.checker.violations
