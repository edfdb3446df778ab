"""Messages: checking a CreateMessageRequest, storing it, and the thread's vector store
that attachments for file search join."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.server.errors import APIError, invalid
from orchestrator.server.objects import message_content, new_message
from orchestrator.server.services.files import get_file
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.services.vector_stores import attach_file, create_vector_store, is_expired

if TYPE_CHECKING:
    from orchestrator.server.context import ServerContext

# OpenAI's limits on one message.
MAX_ATTACHMENTS = 10
MAX_CONTENT_CHARS = 256_000


def active_run_error(thread_id: str, run_id: str) -> APIError:
    # OpenAI's wording; client code matches on it to wait and retry.
    return invalid(f"Can't add messages to {thread_id} while a run {run_id} is active.")


def _check_length(content: str | list[dict[str, Any]], param: str) -> None:
    """OpenAI's 256,000-character cap, checked before anything is stored or indexed."""
    texts = (
        [(param, content)]
        if isinstance(content, str)
        else [
            (f"{param}[{i}].text", part.get("text", ""))
            for i, part in enumerate(content)
            if part.get("type") == "text"
        ]
    )
    for where, text in texts:
        if len(text) > MAX_CONTENT_CHARS:
            raise invalid(
                f"Invalid '{where}': string too long. Expected a string with maximum length "
                f"{MAX_CONTENT_CHARS}, but got a string with length {len(text)} instead.",
                param=where,
                code="string_above_max_length",
            )


def prepare_message(c: ServerContext, body: dict[str, Any], param: str = "") -> dict[str, Any]:
    """Check a CreateMessageRequest (ids it names exist) and turn it into message fields."""
    prefix = f"{param}." if param else ""
    _check_length(body["content"], f"{prefix}content")
    content = message_content(body["content"])
    for i, part in enumerate(content):
        if (
            part["type"] == "image_file"
            and get_file(c.store, part["image_file"]["file_id"]) is None
        ):
            raise invalid(
                f"No file found with id '{part['image_file']['file_id']}'.",
                param=f"{prefix}content[{i}].image_file.file_id",
            )
    attachments = []
    for i, att in enumerate(body.get("attachments") or []):
        if i >= MAX_ATTACHMENTS:
            raise invalid(
                f"A message can have at most {MAX_ATTACHMENTS} attachments.",
                param=f"{prefix}attachments",
            )
        if not att.get("file_id"):
            # The spec leaves file_id optional; an attachment without one means nothing.
            raise invalid(
                f"Missing required parameter: '{prefix}attachments[{i}].file_id'.",
                param=f"{prefix}attachments[{i}].file_id",
            )
        if get_file(c.store, att["file_id"]) is None:
            raise invalid(
                f"No file found with id '{att['file_id']}'. Upload it with POST /v1/files first.",
                param=f"{prefix}attachments[{i}].file_id",
            )
        tools = [{"type": t["type"]} for t in att.get("tools") or []]
        attachments.append({"file_id": att["file_id"], "tools": tools})
    return {
        "role": body["role"],
        "content": content,
        "attachments": attachments,
        "metadata": check_metadata(body.get("metadata"), f"{prefix}metadata"),
    }


def insert_message(
    c: ServerContext, thread: dict[str, Any], prepared: dict[str, Any]
) -> dict[str, Any]:
    """Store a prepared message; attachments for file_search join the thread's vector store."""
    message = new_message(
        thread["id"],
        prepared["role"],
        prepared["content"],
        attachments=prepared["attachments"],
        metadata=prepared["metadata"],
    )
    c.store.insert("message", message, parent=thread["id"])
    search_files = [
        a["file_id"]
        for a in prepared["attachments"]
        if any(t["type"] == "file_search" for t in a["tools"])
    ]
    if search_files:
        _add_to_thread_vector_store(c, thread["id"], search_files)
    return message


def _add_to_thread_vector_store(c: ServerContext, thread_id: str, file_ids: list[str]) -> None:
    """As OpenAI does: files attached for file_search go into the thread's vector store,
    created on first use (expiring 7 days after the thread was last active)."""
    thread = c.store.require("thread", thread_id)
    fs = thread.get("tool_resources", {}).get("file_search") or {}
    existing = list(fs.get("vector_store_ids") or [])
    if existing:
        current = c.store.get("vector_store", existing[0])
        # A thread's store expires 7 days after last use; a new attachment then starts
        # a fresh store instead of failing on the expired one.
        if current is not None and not is_expired(current):
            for file_id in file_ids:
                attach_file(c, existing[0], {"file_id": file_id})
            return
    store = create_vector_store(
        c,
        {
            "name": f"thread {thread_id}",
            "file_ids": file_ids,
            "expires_after": {"anchor": "last_active_at", "days": 7},
        },
    )

    def attach(t: dict[str, Any]) -> None:
        resources = t.setdefault("tool_resources", {})
        resources["file_search"] = {"vector_store_ids": [store["id"]]}

    c.store.mutate("thread", thread_id, attach)


def create_message(c: ServerContext, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /threads/{id}/messages: refused while a run is active on the thread."""
    thread = c.store.require("thread", thread_id)
    prepared = prepare_message(c, body)
    # No await between this check and the insert: nothing can start a run in between.
    active = c.engine.active_run(thread_id)
    if active is not None:
        raise active_run_error(thread_id, active["id"])
    return insert_message(c, thread, prepared)


def modify_message(
    c: ServerContext, thread_id: str, message_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    c.store.require("thread", thread_id)
    c.store.require("message", message_id, parent=thread_id)
    if "metadata" not in body:
        return c.store.require("message", message_id)
    metadata = check_metadata(body["metadata"])
    return c.store.mutate("message", message_id, lambda m: m.update(metadata=metadata))


def delete_message(c: ServerContext, thread_id: str, message_id: str) -> None:
    c.store.require("thread", thread_id)
    c.store.require("message", message_id, parent=thread_id)
    c.store.delete("message", message_id)
