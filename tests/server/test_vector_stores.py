"""Vector stores, vector store files and file batches through the real openai SDK."""

from __future__ import annotations

import io

import openai
import pytest

DOCS = {
    "refunds.md": "# Refund policy\nRefunds are issued to the original card within 14 days.",
    "shipping.txt": "Orders ship from Busan. Standard shipping takes three business days.",
    "warranty.txt": "The warranty covers manufacturing defects for two years.",
}


def _upload(client: openai.OpenAI, name: str, text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return client.files.create(file=(name, data), purpose="assistants").id  # type: ignore[arg-type]


def test_vector_store_lifecycle_and_counts(client: openai.OpenAI) -> None:
    ids = [_upload(client, n, t) for n, t in DOCS.items()]
    vs = client.vector_stores.create(
        name="support docs",
        file_ids=ids[:2],
        metadata={"team": "cs"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert vs.id.startswith("vs_")
    assert vs.object == "vector_store"
    assert vs.name == "support docs" and vs.metadata == {"team": "cs"}
    assert vs.expires_after.days == 7
    assert vs.expires_at == vs.last_active_at + 7 * 86400
    assert vs.file_counts.total == 2
    for file_id in ids[:2]:
        done = client.vector_stores.files.poll(file_id, vector_store_id=vs.id)
        assert done.status == "completed" and done.last_error is None

    vs = client.vector_stores.retrieve(vs.id)
    assert vs.status == "completed"
    assert vs.file_counts.model_dump() == {
        "in_progress": 0,
        "completed": 2,
        "failed": 0,
        "cancelled": 0,
        "total": 2,
    }
    assert vs.usage_bytes == sum(len(DOCS[n].encode()) for n in list(DOCS)[:2])

    added = client.vector_stores.files.create_and_poll(file_id=ids[2], vector_store_id=vs.id)
    assert added.status == "completed"
    assert client.vector_stores.retrieve(vs.id).file_counts.completed == 3

    updated = client.vector_stores.update(vs.id, name="renamed", expires_after=None)
    assert updated.name == "renamed"
    assert updated.expires_at is None and updated.expires_after is None
    assert updated.metadata == {"team": "cs"}

    listed = [v.id for v in client.vector_stores.list(limit=100)]
    assert vs.id in listed

    deleted = client.vector_stores.delete(vs.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (vs.id, "vector_store.deleted", True)
    with pytest.raises(openai.NotFoundError) as err:
        client.vector_stores.retrieve(vs.id)
    assert err.value.body["message"] == f"No vector store found with id '{vs.id}'."
    # The files themselves stay.
    assert client.files.retrieve(ids[0]).id == ids[0]


def test_vector_store_files_attributes_filter_pagination_content(client: openai.OpenAI) -> None:
    vs = client.vector_stores.create(name="attrs")
    ids = []
    for i, (name, text) in enumerate(DOCS.items()):
        f = client.vector_stores.files.create_and_poll(
            file_id=_upload(client, name, text),
            vector_store_id=vs.id,
            attributes={"topic": name.split(".")[0], "rank": i, "public": i != 1},
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 100},
            },
        )
        assert f.object == "vector_store.file"
        assert f.vector_store_id == vs.id
        assert f.attributes == {"topic": name.split(".")[0], "rank": i, "public": i != 1}
        assert f.chunking_strategy.type == "static"
        assert f.chunking_strategy.static.max_chunk_size_tokens == 200
        ids.append(f.id)

    got = client.vector_stores.files.retrieve(ids[0], vector_store_id=vs.id)
    assert got.status == "completed" and got.usage_bytes > 0

    page = client.vector_stores.files.list(vs.id, order="asc", limit=2)
    assert [f.id for f in page.data] == ids[:2] and page.has_more
    page = client.vector_stores.files.list(vs.id, order="asc", limit=2, after=ids[1])
    assert [f.id for f in page.data] == ids[2:] and not page.has_more
    assert [f.id for f in client.vector_stores.files.list(vs.id)] == ids[::-1]
    done = client.vector_stores.files.list(vs.id, filter="completed", limit=100)
    assert len(done.data) == 3

    updated = client.vector_stores.files.update(
        ids[0], vector_store_id=vs.id, attributes={"topic": "money", "rank": 10}
    )
    assert updated.attributes == {"topic": "money", "rank": 10}

    content = list(client.vector_stores.files.content(ids[1], vector_store_id=vs.id))
    assert [c.text for c in content] == [DOCS["shipping.txt"]]
    assert content[0].type == "text"

    removed = client.vector_stores.files.delete(ids[2], vector_store_id=vs.id)
    assert (removed.id, removed.object, removed.deleted) == (
        ids[2],
        "vector_store.file.deleted",
        True,
    )
    assert client.vector_stores.retrieve(vs.id).file_counts.total == 2
    assert client.files.retrieve(ids[2]).id == ids[2]  # detached, not deleted
    with pytest.raises(openai.NotFoundError) as err:
        client.vector_stores.files.retrieve(ids[2], vector_store_id=vs.id)
    assert ids[2] in err.value.message


def test_default_chunking_is_static_800_400(client: openai.OpenAI) -> None:
    vs = client.vector_stores.create(name="defaults")
    f = client.vector_stores.files.create_and_poll(
        file_id=_upload(client, "a.txt", "alpha"),
        vector_store_id=vs.id,
        chunking_strategy={"type": "auto"},
    )
    assert f.chunking_strategy.model_dump() == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
    }
    # The SDK's one-file helper: upload, attach, poll.
    g = client.vector_stores.files.upload_and_poll(vector_store_id=vs.id, file=("b.md", b"beta"))
    assert g.status == "completed"
    assert g.chunking_strategy.static.max_chunk_size_tokens == 800


def test_upload_and_poll_batches_with_per_file_attributes(client: openai.OpenAI) -> None:
    vs = client.vector_stores.create(name="machine learning")
    streams = []
    for name, text in DOCS.items():
        s = io.BytesIO(text.encode())
        s.name = name
        streams.append(s)
    batch = client.vector_stores.file_batches.upload_and_poll(vector_store_id=vs.id, files=streams)
    assert batch.id.startswith("vsfb_")
    assert batch.object == "vector_store.files_batch"
    assert batch.status == "completed"
    assert batch.file_counts.model_dump() == {
        "in_progress": 0,
        "completed": 3,
        "failed": 0,
        "cancelled": 0,
        "total": 3,
    }
    assert client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=vs.id) == batch
    in_batch = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=vs.id)
    assert len(in_batch.data) == 3

    # `files` carries attributes per file; top-level `attributes` is their default.
    a = _upload(client, "a.txt", "apples and pears")
    b = _upload(client, "b.txt", "plums and cherries")
    second = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=vs.id,
        files=[{"file_id": a, "attributes": {"kind": "pome"}}, {"file_id": b}],
        attributes={"kind": "fruit"},
    )
    assert second.status == "completed" and second.file_counts.total == 2
    assert client.vector_stores.files.retrieve(a, vector_store_id=vs.id).attributes == {
        "kind": "pome"
    }
    assert client.vector_stores.files.retrieve(b, vector_store_id=vs.id).attributes == {
        "kind": "fruit"
    }
    assert client.vector_stores.retrieve(vs.id).file_counts.total == 5
    only_second = client.vector_stores.file_batches.list_files(
        second.id, vector_store_id=vs.id, filter="completed"
    )
    assert sorted(f.id for f in only_second.data) == sorted([a, b])

    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.file_batches.cancel(second.id, vector_store_id=vs.id)
    assert "already completed" in err.value.message


def test_cancel_stops_files_still_indexing(client: openai.OpenAI) -> None:
    vs = client.vector_stores.create(name="cancel")
    # A large first file keeps the indexer busy while the cancel arrives.
    big = _upload(client, "big.txt", ("lorem ipsum dolor sit amet " * 40000).encode())
    small = [_upload(client, f"s{i}.txt", f"small file {i}") for i in range(5)]
    batch = client.vector_stores.file_batches.create(vector_store_id=vs.id, file_ids=[big, *small])
    assert batch.status == "in_progress"
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=vs.id)
    assert cancelled.status == "cancelled"
    counts = cancelled.file_counts
    assert counts.in_progress == 0
    assert counts.cancelled >= 1
    assert counts.cancelled + counts.completed == counts.total == 6
    assert client.vector_stores.files.retrieve(big, vector_store_id=vs.id).status == "cancelled"
    listed = client.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=vs.id, filter="cancelled", limit=100
    )
    assert big in [f.id for f in listed.data]
    # A cancelled file is not searchable, and stays cancelled (the indexer drops its work).
    assert all(h.file_id != big for h in client.vector_stores.search(vs.id, query="lorem"))
    again = client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=vs.id)
    assert again.status == "cancelled" and again.file_counts == counts
    # Re-attaching a cancelled file indexes it.
    redo = client.vector_stores.files.create_and_poll(file_id=big, vector_store_id=vs.id)
    assert redo.status == "completed"


def test_unreadable_files_fail_with_last_error(client: openai.OpenAI) -> None:
    vs = client.vector_stores.create(name="failures")
    good = _upload(client, "ok.txt", "fine text")
    image = _upload(client, "photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    broken = _upload(client, "broken.pdf", b"%PDF-1.4\nthis is not really a pdf")
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=vs.id, file_ids=[good, image, broken]
    )
    assert batch.status == "completed"
    assert (batch.file_counts.completed, batch.file_counts.failed) == (1, 2)
    png = client.vector_stores.files.retrieve(image, vector_store_id=vs.id)
    assert png.status == "failed"
    assert png.last_error.code == "unsupported_file"
    assert "'.png'" in png.last_error.message and "photo.png" in png.last_error.message
    pdf = client.vector_stores.files.retrieve(broken, vector_store_id=vs.id)
    assert pdf.status == "failed"
    assert pdf.last_error.code in ("invalid_file", "unsupported_file")
    assert "broken.pdf" in pdf.last_error.message
    failed = client.vector_stores.files.list(vs.id, filter="failed")
    assert sorted(f.id for f in failed.data) == sorted([image, broken])
    assert list(client.vector_stores.files.content(image, vector_store_id=vs.id)) == []


def test_errors_name_the_object_or_parameter(client: openai.OpenAI) -> None:
    missing_vs = "vs_doesnotexist"
    with pytest.raises(openai.NotFoundError) as err:
        client.vector_stores.files.list(missing_vs)
    assert err.value.body["message"] == f"No vector store found with id '{missing_vs}'."
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.create(file_ids=["file-nope"])
    assert err.value.body["param"] == "file_ids[0]"
    assert "file-nope" in err.value.message

    vs = client.vector_stores.create(name="errors")
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.files.create(vector_store_id=vs.id, file_id="file-nope")
    assert err.value.body["param"] == "file_id"
    with pytest.raises(openai.NotFoundError) as err:
        client.vector_stores.file_batches.retrieve("vsfb_nope", vector_store_id=vs.id)
    assert err.value.body["message"] == "No file batch found with id 'vsfb_nope'."
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.create(
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150},
            },
            file_ids=[_upload(client, "x.txt", "x")],
        )
    assert err.value.body["param"] == "chunking_strategy.static.chunk_overlap_tokens"
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 0})
    assert err.value.body["param"] == "expires_after.days"
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.files.list(vs.id, filter="done")  # type: ignore[arg-type]
    assert err.value.body["param"] == "filter"
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.file_batches.create(vector_store_id=vs.id, file_ids=[])
    assert err.value.body["param"] == "file_ids"
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.files.list(vs.id, after="file-notinstore")
    assert err.value.body["param"] == "after"
    with pytest.raises(openai.BadRequestError) as err:
        client.vector_stores.update(vs.id, metadata={f"k{i}": "v" for i in range(17)})
    assert err.value.body["param"] == "metadata"
    # Nothing was half-created by the failing requests.
    assert client.vector_stores.retrieve(vs.id).file_counts.total == 0
