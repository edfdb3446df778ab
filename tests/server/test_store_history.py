"""``Store.thread_history`` (SQLite picks the fields) says what the stored messages say."""

from __future__ import annotations

from orchestrator.server.objects import image_file_part, message_text, new_message, text_part
from orchestrator.server.store import Store


def test_thread_history_matches_the_stored_documents() -> None:
    store = Store(None)
    contents = [
        [text_part("plain")],
        [text_part("first"), image_file_part("file-img"), text_part("second\nline"), text_part("")],
        [image_file_part("file-only")],
        [],
        [text_part('quotes " and \\ backslashes, ünïcode, 한국어')],
    ]
    attachments = [{"file_id": "file-a", "tools": [{"type": "file_search"}]}]
    for i, content in enumerate(contents):
        message = new_message(
            "thread_a",
            "user" if i % 2 == 0 else "assistant",
            content,
            attachments=attachments if i == 1 else None,
            run_id="run_x" if i == 3 else None,
        )
        store.insert("message", message, parent="thread_a")
    store.insert("message", new_message("thread_b", "user", [text_part("other")]), "thread_b")

    history = store.thread_history("thread_a")
    stored = store.all("message", parent="thread_a")
    assert [(h.role, h.run_id, h.text, h.attachments) for h in history] == [
        (m["role"], m["run_id"], message_text(m), m["attachments"]) for m in stored
    ]
    assert history[1].text == "first\nsecond\nline\n"
