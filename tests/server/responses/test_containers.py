"""Containers and container files through the real openai SDK against a real server."""

from __future__ import annotations

import io

import openai
import pytest


def test_container_crud_and_list_by_name(client: openai.OpenAI) -> None:
    container = client.containers.create(
        name="analysis-crud", expires_after={"anchor": "last_active_at", "minutes": 5}
    )
    assert container.id.startswith("cntr_") and container.object == "container"
    assert container.status == "running" and container.name == "analysis-crud"
    assert container.expires_after.minutes == 5
    assert container.last_active_at == container.created_at
    assert client.containers.retrieve(container.id).model_dump() == container.model_dump()

    other = client.containers.create(name="analysis-other")
    assert other.expires_after.minutes == 20  # OpenAI's default
    named = client.containers.list(name="analysis-crud").data
    assert [c.id for c in named] == [container.id]
    recent = client.containers.list(limit=2).data
    assert [c.id for c in recent] == [other.id, container.id]

    client.containers.delete(container.id)
    with pytest.raises(openai.NotFoundError) as err:
        client.containers.retrieve(container.id)
    assert container.id in err.value.message
    assert client.containers.list(name="analysis-crud").data == []


def test_container_files_upload_add_by_id_content_and_delete(client: openai.OpenAI) -> None:
    stored = client.files.create(file=("scores.csv", b"name,score\nkim,90\n"), purpose="user_data")
    container = client.containers.create(name="files", file_ids=[stored.id])
    files = client.containers.files.list(container.id).data
    assert [(f.path, f.bytes, f.source) for f in files] == [("/mnt/data/scores.csv", 18, "user")]

    uploaded = client.containers.files.create(
        container.id, file=("notes.txt", io.BytesIO("메모".encode()))
    )
    assert uploaded.id.startswith("cfile_") and uploaded.container_id == container.id
    assert uploaded.path == "/mnt/data/notes.txt" and uploaded.bytes == len("메모".encode())
    again = client.containers.files.create(container.id, file_id=stored.id)
    # One file per path: adding scores.csv again replaces the first copy.
    paths = sorted(f.path for f in client.containers.files.list(container.id))
    assert paths == ["/mnt/data/notes.txt", "/mnt/data/scores.csv"]

    got = client.containers.files.retrieve(uploaded.id, container_id=container.id)
    assert got.model_dump() == uploaded.model_dump()
    content = client.containers.files.content.retrieve(uploaded.id, container_id=container.id)
    assert content.read() == "메모".encode()
    assert client.containers.retrieve(container.id).last_active_at >= container.last_active_at

    client.containers.files.delete(again.id, container_id=container.id)
    assert [f.id for f in client.containers.files.list(container.id)] == [uploaded.id]
    with pytest.raises(openai.NotFoundError):
        client.containers.files.retrieve(again.id, container_id=container.id)
    client.containers.delete(container.id)
    with pytest.raises(openai.NotFoundError):
        client.containers.files.list(container.id)


def test_container_errors_are_named(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.containers.create(name="x", file_ids=["file-missing"])
    assert err.value.body["param"] == "file_ids[0]" and "file-missing" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.containers.create(name="x", expires_after={"anchor": "last_active_at", "minutes": 0})
    assert err.value.body["param"] == "expires_after.minutes"
    with pytest.raises(openai.BadRequestError) as err:
        client.post("/containers", body={}, cast_to=object)
    assert "'name'" in err.value.message
    container = client.containers.create(name="errors")
    with pytest.raises(openai.BadRequestError) as err:
        client.containers.files.create(container.id, file_id="file-missing")
    assert "file-missing" in err.value.message
    with pytest.raises(openai.NotFoundError):
        client.containers.files.create("cntr_missing", file_id="file-missing")
