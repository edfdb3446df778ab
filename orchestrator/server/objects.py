"""Wire-shaped threads, messages, runs and run steps: builders and small accessors.

Routes and the engine build these objects only here, so every one carries exactly the
fields OpenAI's spec requires, in the shapes the ``openai`` SDK parses.
"""

from __future__ import annotations

from typing import Any

from orchestrator.server.ids import new_id, now

ACTIVE_RUN_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")
TERMINAL_RUN_STATUSES = ("completed", "incomplete", "failed", "cancelled", "expired")


def text_part(value: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def image_file_part(file_id: str, detail: str = "auto") -> dict[str, Any]:
    return {"type": "image_file", "image_file": {"file_id": file_id, "detail": detail}}


def message_content(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A create-message ``content`` (a string or request parts) as stored content parts."""
    if isinstance(content, str):
        return [text_part(content)]
    out: list[dict[str, Any]] = []
    for part in content:
        if part["type"] == "text":
            out.append(text_part(part["text"]))
        elif part["type"] == "image_file":
            image = part["image_file"]
            out.append(image_file_part(image["file_id"], image.get("detail") or "auto"))
        elif part["type"] == "image_url":
            url = part["image_url"]
            out.append(
                {
                    "type": "image_url",
                    "image_url": {"url": url["url"], "detail": url.get("detail") or "auto"},
                }
            )
    return out


def message_text(message: dict[str, Any]) -> str:
    """The text parts of a message, joined (what a chat model sees of it)."""
    return "\n".join(
        part["text"]["value"] for part in message.get("content", []) if part["type"] == "text"
    )


def new_thread(
    metadata: dict[str, str] | None, tool_resources: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": new_id("thread"),
        "object": "thread",
        "created_at": now(),
        "metadata": metadata or {},
        "tool_resources": tool_resources or {},
    }


def new_message(
    thread_id: str,
    role: str,
    content: list[dict[str, Any]],
    *,
    attachments: list[dict[str, Any]] | None = None,
    metadata: dict[str, str] | None = None,
    assistant_id: str | None = None,
    run_id: str | None = None,
    status: str = "completed",
) -> dict[str, Any]:
    created = now()
    return {
        "id": new_id("message"),
        "object": "thread.message",
        "created_at": created,
        "thread_id": thread_id,
        "status": status,
        "incomplete_details": None,
        "completed_at": created if status == "completed" else None,
        "incomplete_at": None,
        "role": role,
        "content": content,
        "assistant_id": assistant_id,
        "run_id": run_id,
        "attachments": attachments or [],
        "metadata": metadata or {},
    }


def new_step(
    run: dict[str, Any], step_type: str, details: dict[str, Any], step_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": step_id or new_id("run_step"),
        "object": "thread.run.step",
        "created_at": now(),
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "run_id": run["id"],
        "type": step_type,
        "status": "in_progress",
        "step_details": details,
        "last_error": None,
        "expired_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "metadata": {},
        "usage": None,
    }


def usage_dict(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def run_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    """A function tool call of a step as ``required_action`` lists it."""
    fn = call["function"]
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": fn["name"], "arguments": fn["arguments"]},
    }


def step_without_search_content(step: dict[str, Any]) -> dict[str, Any]:
    """A step as returned without ``include[]=...file_search.results[*].content``."""
    details = step.get("step_details", {})
    if details.get("type") != "tool_calls" or not any(
        c.get("type") == "file_search" for c in details.get("tool_calls", [])
    ):
        return step
    out = {**step, "step_details": {**details, "tool_calls": []}}
    for call in details["tool_calls"]:
        if call.get("type") == "file_search":
            fs = call["file_search"]
            results = [
                {k: v for k, v in r.items() if k != "content"} for r in fs.get("results", [])
            ]
            call = {**call, "file_search": {**fs, "results": results}}
        out["step_details"]["tool_calls"].append(call)
    return out
