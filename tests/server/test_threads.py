"""Threads and messages through the real openai SDK against a real server process."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support import API_KEY


def test_thread_crud_with_messages_and_metadata(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "방정식 '3x + 11 = 14'를 풀어줘"},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "x = 1"}],
                "metadata": {"source": "seed"},
            },
        ],
        metadata={"user": "kim"},
    )
    assert thread.id.startswith("thread_")
    assert thread.metadata == {"user": "kim"}
    assert isinstance(thread.created_at, int) and thread.created_at < 10**11  # seconds
    messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content[0].text.value == "방정식 '3x + 11 = 14'를 풀어줘"
    assert messages[0].thread_id == thread.id and messages[0].run_id is None
    assert messages[1].metadata == {"source": "seed"}

    assert client.beta.threads.retrieve(thread.id) == thread
    updated = client.beta.threads.update(thread.id, metadata={"user": "lee", "tier": "2"})
    assert updated.metadata == {"user": "lee", "tier": "2"}

    deleted = client.beta.threads.delete(thread.id)
    assert deleted.deleted and deleted.id == thread.id and deleted.object == "thread.deleted"
    with pytest.raises(openai.NotFoundError) as err:
        client.beta.threads.retrieve(thread.id)
    assert thread.id in err.value.message
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list(thread_id=thread.id)


def test_message_crud(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    msg = client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="선형대수에 대해 설명해줘"
    )
    assert msg.id.startswith("msg_")
    assert msg.status == "completed" and msg.assistant_id is None and msg.attachments == []
    assert msg.content[0].type == "text" and msg.content[0].text.annotations == []
    got = client.beta.threads.messages.retrieve(thread_id=thread.id, message_id=msg.id)
    assert got == msg
    changed = client.beta.threads.messages.update(
        thread_id=thread.id, message_id=msg.id, metadata={"k": "v"}
    )
    assert changed.metadata == {"k": "v"}
    assert changed.content == msg.content
    gone = client.beta.threads.messages.delete(thread_id=thread.id, message_id=msg.id)
    assert gone.deleted and gone.object == "thread.message.deleted"
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(thread_id=thread.id, message_id=msg.id)


def test_message_belongs_to_its_thread(client: openai.OpenAI) -> None:
    one = client.beta.threads.create(messages=[{"role": "user", "content": "one"}])
    two = client.beta.threads.create()
    msg_id = client.beta.threads.messages.list(thread_id=one.id).data[0].id
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(thread_id=two.id, message_id=msg_id)


def test_message_list_pagination(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    ids = [
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=f"m{i}").id
        for i in range(7)
    ]
    # Default order is newest first.
    page = client.beta.threads.messages.list(thread_id=thread.id, limit=3)
    assert [m.id for m in page.data] == ids[::-1][:3]
    assert page.has_more and page.first_id == ids[6] and page.last_id == ids[4]
    # The SDK follows cursors across pages.
    everything = [m.id for m in client.beta.threads.messages.list(thread_id=thread.id, limit=2)]
    assert everything == ids[::-1]
    asc = client.beta.threads.messages.list(thread_id=thread.id, order="asc", after=ids[2])
    assert [m.id for m in asc.data] == ids[3:]
    assert not asc.has_more
    before = client.beta.threads.messages.list(thread_id=thread.id, order="asc", before=ids[3])
    assert [m.id for m in before.data] == ids[:3]
    desc_before = client.beta.threads.messages.list(
        thread_id=thread.id, order="desc", before=ids[3], limit=2
    )
    assert [m.id for m in desc_before.data] == [ids[5], ids[4]]
    empty = client.beta.threads.messages.list(thread_id=thread.id, after=ids[0])
    assert empty.data == [] and not empty.has_more
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.list(thread_id=thread.id, limit=0)
    assert err.value.body["param"] == "limit"
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.list(thread_id=thread.id, order="sideways")  # type: ignore[arg-type]
    assert err.value.body["param"] == "order"


def test_message_list_filters_by_run(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", name="filter")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "first"}])
    run1 = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="second")
    run2 = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run1.status == run2.status == "completed"
    only2 = client.beta.threads.messages.list(thread_id=thread.id, run_id=run2.id).data
    assert len(only2) == 1 and only2[0].run_id == run2.id and only2[0].role == "assistant"
    assert "second" in only2[0].content[0].text.value
    assert len(client.beta.threads.messages.list(thread_id=thread.id).data) == 4


def test_request_validation_names_the_parameter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.create(messages=[{"role": "system", "content": "hi"}])  # type: ignore[list-item]
    assert "messages" in (err.value.body["param"] or "")
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=[])
    assert err.value.body["param"] == "content"
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.create(
            thread_id=thread.id, role="user", content="x", extra_body={"colour": "blue"}
        )
    assert "colour" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.update(thread.id, metadata={f"k{i}": "v" for i in range(17)})
    assert err.value.body["param"] == "metadata"
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.create(
            thread_id=thread.id, role="user", content="x", metadata={"k": "v" * 513}
        )
    assert err.value.body["param"] == "metadata.k"


def test_unknown_ids_are_404_or_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.beta.threads.messages.create(thread_id="thread_nope", role="user", content="x")
    assert "thread_nope" in err.value.message
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.create(
            thread_id=thread.id,
            role="user",
            content="x",
            attachments=[{"file_id": "file-missing", "tools": [{"type": "code_interpreter"}]}],
        )
    assert err.value.body["param"] == "attachments[0].file_id"
    assert "file-missing" in err.value.message
    # Nothing was half-created: a thread with a bad message is not stored at all.
    before = client.beta.threads.messages.list(thread_id=thread.id).data
    assert before == []
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.create(
            messages=[
                {"role": "user", "content": "ok"},
                {
                    "role": "user",
                    "content": "bad",
                    "attachments": [{"file_id": "file-missing", "tools": []}],
                },
            ]
        )
    assert err.value.body["param"] == "messages[1].attachments[0].file_id"
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.create(tool_resources={"file_search": {"vector_store_ids": ["vs_no"]}})
    assert "vs_no" in err.value.message


def test_thread_tool_resources_and_code_attachments(client: openai.OpenAI) -> None:
    data = client.files.create(file=("mydata.csv", b"name,age\nkim,20\n"), purpose="assistants")
    thread = client.beta.threads.create(
        tool_resources={"code_interpreter": {"file_ids": [data.id]}},
        messages=[
            {
                "role": "user",
                "content": "read it",
                "attachments": [{"file_id": data.id, "tools": [{"type": "code_interpreter"}]}],
            }
        ],
    )
    assert thread.tool_resources.code_interpreter.file_ids == [data.id]
    msg = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert msg.attachments[0].file_id == data.id
    assert msg.attachments[0].tools[0].type == "code_interpreter"
    cleared = client.beta.threads.update(thread.id, tool_resources={"code_interpreter": {}})
    assert cleared.tool_resources.code_interpreter.file_ids == []


def test_file_search_attachment_creates_thread_vector_store(client: openai.OpenAI) -> None:
    doc = client.files.create(
        file=("notes.md", "# 피타고라스\n직각삼각형에서 a² + b² = c² 이다.".encode()),
        purpose="assistants",
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="피타고라스 정리가 뭐야?",
        attachments=[{"file_id": doc.id, "tools": [{"type": "file_search"}]}],
    )
    thread = client.beta.threads.retrieve(thread.id)
    vs_ids = thread.tool_resources.file_search.vector_store_ids
    assert len(vs_ids) == 1
    files = client.vector_stores.files.list(vector_store_id=vs_ids[0]).data
    assert [f.id for f in files] == [doc.id]
    # A second attachment joins the same store.
    more = client.files.create(file=("more.md", b"# More\ntext"), purpose="assistants")
    client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="and this",
        attachments=[{"file_id": more.id, "tools": [{"type": "file_search"}]}],
    )
    thread = client.beta.threads.retrieve(thread.id)
    assert thread.tool_resources.file_search.vector_store_ids == vs_ids
    ids = {f.id for f in client.vector_stores.files.list(vector_store_id=vs_ids[0]).data}
    assert ids == {doc.id, more.id}


def test_run_right_after_an_attachment_searches_it(client: openai.OpenAI) -> None:
    # The run starts while the attached file may still be indexing; like OpenAI, its
    # file search waits for it, so the reply cites the attachment.
    doc = client.files.create(
        file=("orbits.md", b"# Orbits\nKepler's third law relates orbital period to distance."),
        purpose="assistants",
    )
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}])
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "What does Kepler's third law relate?",
                "attachments": [{"file_id": doc.id, "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    citations = [a for a in reply.content[0].text.annotations if a.type == "file_citation"]
    assert citations and citations[0].file_citation.file_id == doc.id


def test_auth_is_required(server) -> None:
    r = httpx.get(f"{server.base_url}/threads/thread_x")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"
    r = httpx.post(
        f"{server.base_url}/threads", headers={"Authorization": f"Bearer {API_KEY}x"}, json={}
    )
    assert r.status_code == 401
    assert API_KEY not in r.text


def test_invalid_json_body_is_400(server) -> None:
    r = httpx.post(
        f"{server.base_url}/threads",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_thread_vector_store_helper(client: openai.OpenAI) -> None:
    doc = client.files.create(
        file=("helper.md", b"# Helper\nA vector store made for a thread."), purpose="assistants"
    )
    thread = client.beta.threads.create(
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [doc.id]}]}}
    )
    vs_ids = thread.tool_resources.file_search.vector_store_ids
    assert len(vs_ids) == 1 and vs_ids[0].startswith("vs_")
    assert [f.id for f in client.vector_stores.files.list(vector_store_id=vs_ids[0])] == [doc.id]
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.create(
            tool_resources={"file_search": {"vector_store_ids": vs_ids, "vector_stores": [{}]}}
        )
