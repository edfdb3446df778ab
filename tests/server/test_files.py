"""Files API through the real openai SDK: upload, list, retrieve, content, delete."""

from __future__ import annotations

import io
import uuid

import httpx
import openai
import pytest


def _upload(client: openai.OpenAI, name: str, data: bytes, purpose: str = "assistants"):
    return client.files.create(file=(name, data), purpose=purpose)  # type: ignore[arg-type]


def test_upload_retrieve_content_delete(client: openai.OpenAI) -> None:
    data = "# 수학 노트\n피타고라스 정리: a² + b² = c²\n".encode()
    f = _upload(client, "notes.md", data)
    assert f.id.startswith("file-")
    assert (f.object, f.filename, f.purpose, f.bytes) == (
        "file",
        "notes.md",
        "assistants",
        len(data),
    )
    assert f.status == "processed"
    assert f.expires_at is None
    assert client.files.retrieve(f.id) == f

    content = client.files.content(f.id)
    assert content.content == data
    assert content.response.headers["content-type"].startswith("text/markdown")

    deleted = client.files.delete(f.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (f.id, "file", True)
    with pytest.raises(openai.NotFoundError) as err:
        client.files.retrieve(f.id)
    assert err.value.body["message"] == f"No file found with id '{f.id}'."
    with pytest.raises(openai.NotFoundError):
        client.files.content(f.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(f.id)


def test_binary_content_round_trips_and_file_objects_upload(client: openai.OpenAI) -> None:
    blob = bytes(range(256)) * 40
    # A file object, as the seeds pass `open(path, "rb")`; only its base name is kept.
    stream = io.BytesIO(blob)
    stream.name = "/tmp/some/dir/data.bin"
    f = client.files.create(file=stream, purpose="user_data")
    assert f.filename == "data.bin"
    content = client.files.content(f.id)
    assert content.content == blob
    assert content.response.headers["content-type"] == "application/octet-stream"
    # JSON files come back as their bytes, not as a parsed API response.
    j = _upload(client, "data.json", b'{"a": 1}')
    assert client.files.content(j.id).content == b'{"a": 1}'


def test_list_filters_by_purpose_and_paginates(client: openai.OpenAI) -> None:
    purpose = "vision"
    tag = uuid.uuid4().hex[:8]
    ids = [_upload(client, f"{tag}-{i}.txt", f"file {i}".encode(), purpose).id for i in range(5)]
    other = _upload(client, f"{tag}-other.txt", b"other", "user_data").id

    listed = [f.id for f in client.files.list(purpose=purpose) if f.filename.startswith(tag)]
    assert listed == list(reversed(ids))  # default order: newest first
    assert other not in listed

    page = client.files.list(purpose=purpose, order="asc", limit=2, after=ids[0])
    assert [f.id for f in page.data] == ids[1:3]
    assert page.has_more
    # The SDK follows `after` cursors across pages.
    walked = [f.id for f in client.files.list(purpose=purpose, order="asc", limit=2)]
    assert [i for i in walked if i in ids] == ids
    # The Files API allows limits up to 10,000.
    assert len(client.files.list(limit=10000).data) >= 6


def test_expires_after_sets_expires_at(client: openai.OpenAI) -> None:
    f = client.files.create(
        file=("temp.txt", b"temporary"),
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert f.expires_at == f.created_at + 3600
    assert client.files.retrieve(f.id).expires_at == f.expires_at


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"purpose": "homework"}, "purpose"),
        (
            {"purpose": "assistants", "expires_after": {"anchor": "created_at", "seconds": 60}},
            "expires_after.seconds",
        ),
        (
            {"purpose": "assistants", "expires_after": {"anchor": "now", "seconds": 3600}},
            "expires_after.anchor",
        ),
    ],
)
def test_bad_upload_parameters_are_400_naming_the_param(
    client: openai.OpenAI, kwargs: dict, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("x.txt", b"x"), **kwargs)
    assert err.value.body["param"] == param
    assert param.split(".")[-1] in err.value.message


def test_missing_fields_and_bad_list_limits(server, client: openai.OpenAI) -> None:
    raw = httpx.post(
        f"{server.base_url}/files",
        headers={"authorization": f"Bearer {server.api_key}"},
        files={"purpose": (None, "assistants")},
    )
    assert raw.status_code == 400
    assert raw.json()["error"]["param"] == "file"
    raw = httpx.post(
        f"{server.base_url}/files",
        headers={"authorization": f"Bearer {server.api_key}"},
        json={"purpose": "assistants"},
    )
    assert raw.status_code == 400
    assert "multipart/form-data" in raw.json()["error"]["message"]
    for limit in (0, 10001):
        with pytest.raises(openai.BadRequestError) as err:
            client.files.list(limit=limit)
        assert err.value.body["param"] == "limit"


def test_deleting_a_file_detaches_it_from_vector_stores(client: openai.OpenAI) -> None:
    f = _upload(client, "policy.txt", b"Refunds are issued within fourteen days.")
    keep = _upload(client, "other.txt", b"Shipping takes three days.")
    vs = client.vector_stores.create(name="detach", file_ids=[f.id, keep.id])
    for file_id in (f.id, keep.id):
        client.vector_stores.files.poll(file_id, vector_store_id=vs.id)
    assert client.vector_stores.search(vs.id, query="refunds").data[0].file_id == f.id

    client.files.delete(f.id)
    store = client.vector_stores.retrieve(vs.id)
    assert store.file_counts.total == 1
    assert [x.id for x in client.vector_stores.files.list(vs.id)] == [keep.id]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(f.id, vector_store_id=vs.id)
    assert all(h.file_id != f.id for h in client.vector_stores.search(vs.id, query="refunds"))
