"""Conversations and their items through the real openai SDK against a real server."""

from __future__ import annotations

import openai
import pytest


def test_conversation_crud_with_items_and_metadata(client: openai.OpenAI) -> None:
    conv = client.conversations.create(
        items=[
            {"type": "message", "role": "user", "content": "퀴즈를 내줘"},
            {"type": "message", "role": "assistant", "content": "좋아요, 첫 문제입니다."},
        ],
        metadata={"topic": "quiz"},
    )
    assert conv.id.startswith("conv_") and conv.object == "conversation"
    assert conv.metadata == {"topic": "quiz"}
    assert client.conversations.retrieve(conv.id) == conv

    items = client.conversations.items.list(conv.id, order="asc").data
    assert [i.role for i in items] == ["user", "assistant"]
    assert items[0].content[0].type == "input_text" and items[0].content[0].text == "퀴즈를 내줘"
    assert items[1].content[0].type == "output_text" and items[1].content[0].annotations == []
    assert all(i.status == "completed" and i.id.startswith("msg_") for i in items)

    updated = client.conversations.update(conv.id, metadata={"topic": "math", "level": "2"})
    assert updated.metadata == {"topic": "math", "level": "2"}

    deleted = client.conversations.delete(conv.id)
    assert deleted.deleted and deleted.id == conv.id and deleted.object == "conversation.deleted"
    with pytest.raises(openai.NotFoundError) as err:
        client.conversations.retrieve(conv.id)
    assert conv.id in err.value.message
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conv.id)


def test_items_create_retrieve_delete_and_function_items(client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    assert client.conversations.items.list(conv.id).data == []
    added = client.conversations.items.create(
        conv.id,
        items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "display_quiz",
                "arguments": '{"title": "t"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'},
        ],
    )
    assert [i.type for i in added.data] == ["message", "function_call", "function_call_output"]
    call, output = added.data[1], added.data[2]
    assert call.id.startswith("fc_") and call.call_id == "call_1" and call.status == "completed"
    assert output.id.startswith("fco_") and output.output == '{"ok": true}'

    got = client.conversations.items.retrieve(call.id, conversation_id=conv.id)
    assert got == call
    after_delete = client.conversations.items.delete(call.id, conversation_id=conv.id)
    assert after_delete.id == conv.id
    remaining = client.conversations.items.list(conv.id, order="asc").data
    assert [i.id for i in remaining] == [added.data[0].id, output.id]
    with pytest.raises(openai.NotFoundError) as err:
        client.conversations.items.retrieve(call.id, conversation_id=conv.id)
    assert call.id in err.value.message


def test_items_paginate_in_insertion_order_both_ways(client: openai.OpenAI) -> None:
    conv = client.conversations.create()
    # Mixed types: ids of different prefixes must still page in the order they were added.
    sent = []
    for n in range(7):
        sent.append({"type": "message", "role": "user", "content": f"m{n}"})
        sent.append({"type": "function_call_output", "call_id": f"call_{n}", "output": f"o{n}"})
    client.conversations.items.create(conv.id, items=sent[:14])
    ids_asc = [i.id for i in client.conversations.items.list(conv.id, order="asc", limit=100)]
    assert len(ids_asc) == 14

    first = client.conversations.items.list(conv.id, order="asc", limit=5)
    assert first.has_more and [i.id for i in first.data] == ids_asc[:5]
    walked = [i.id for i in client.conversations.items.list(conv.id, order="asc", limit=5)]
    assert walked == ids_asc  # the SDK's auto-pagination follows `after`
    desc = [i.id for i in client.conversations.items.list(conv.id, order="desc", limit=3)]
    assert desc == ids_asc[::-1]
    page = client.conversations.items.list(conv.id, order="desc", limit=4, after=ids_asc[5])
    assert [i.id for i in page.data] == ids_asc[4::-1][:4] and page.has_more


def test_conversation_errors_are_named(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.conversations.create(
            items=[{"type": "message", "role": "user", "content": str(n)} for n in range(21)]
        )
    assert err.value.body["param"] == "items" and "maximum length 20" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.conversations.create(
            items=[
                {
                    "type": "computer_call_output",
                    "call_id": "c",
                    "output": {"type": "computer_screenshot", "image_url": "https://x"},
                }
            ]
        )
    assert "'computer_call_output' is not supported" in err.value.message
    conv = client.conversations.create()
    with pytest.raises(openai.BadRequestError) as err:
        client.conversations.items.list(conv.id, include=["bogus"])  # type: ignore[list-item]
    assert "include[0]" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.conversations.create(metadata={str(n): "v" for n in range(17)})
    assert "at most 16" in err.value.message
    with pytest.raises(openai.NotFoundError):
        client.conversations.update("conv_missing", metadata={})
