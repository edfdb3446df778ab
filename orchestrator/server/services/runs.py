"""Runs: built from create bodies with every reference checked, then handed to the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.server.errors import APIError, invalid
from orchestrator.server.ids import new_id, now
from orchestrator.server.services.messages import insert_message, prepare_message
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.services.resources import check_tool_resources, normalise_tools
from orchestrator.server.services.threads import create_thread

if TYPE_CHECKING:
    from orchestrator.server.context import ServerContext


def active_run_conflict(thread_id: str, run_id: str) -> APIError:
    # OpenAI's wording for a second run on a busy thread.
    return invalid(f"Thread {thread_id} already has an active run {run_id}.")


def thread_run(c: ServerContext, thread_id: str, run_id: str) -> dict[str, Any]:
    """The run, a 404 naming the thread or the run if either is unknown."""
    c.store.require("thread", thread_id)
    return c.store.require("run", run_id, parent=thread_id)


def create_thread_and_run(c: ServerContext, body: dict[str, Any]) -> dict[str, Any]:
    """POST /threads/runs: the run's own fields are checked before the thread exists, so a
    bad body creates nothing."""
    resources = check_tool_resources(c, body.get("tool_resources") or {})
    probe = build_run(c, "thread_probe", body, run_resources=resources)
    thread = create_thread(c, body.get("thread") or {}, "thread.")
    run = {**probe, "thread_id": thread["id"]}
    c.engine.start_run(run, created_thread=thread)
    return run


def create_run(c: ServerContext, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /threads/{id}/runs: refused while another run is active on the thread."""
    c.store.require("thread", thread_id)
    run = build_run(c, thread_id, body, run_resources={})
    extra = [
        prepare_message(c, m, f"additional_messages[{i}]")
        for i, m in enumerate(body.get("additional_messages") or [])
    ]
    # No await from this check to start_run: no other run can slip in between.
    active = c.engine.active_run(thread_id)
    if active is not None:
        raise active_run_conflict(thread_id, active["id"])
    for message in extra:
        insert_message(c, c.store.require("thread", thread_id), message)
    c.engine.start_run(run)
    return run


def modify_run(
    c: ServerContext, thread_id: str, run_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    run = thread_run(c, thread_id, run_id)
    if "metadata" in body:
        metadata = check_metadata(body["metadata"])
        run = c.store.mutate("run", run_id, lambda r: r.update(metadata=metadata))
    return run


def build_run(
    c: ServerContext, thread_id: str, body: dict[str, Any], *, run_resources: dict[str, Any]
) -> dict[str, Any]:
    """A new queued run from a create (or create_and_run) body; checks every reference."""
    assistant_id = body["assistant_id"]
    assistant = c.store.get("assistant", assistant_id)
    if assistant is None:
        raise invalid(f"No assistant found with id '{assistant_id}'.", param="assistant_id")
    instructions = body.get("instructions")
    if instructions is None:
        instructions = assistant.get("instructions") or ""
    extra = body.get("additional_instructions")
    if extra:
        instructions = f"{instructions}\n\n{extra}" if instructions else extra
    tools = body.get("tools")
    tools = normalise_tools(tools) if tools is not None else list(assistant.get("tools") or [])
    tool_choice = body.get("tool_choice") or "auto"
    _check_tool_choice(tool_choice, tools)
    truncation = body.get("truncation_strategy") or {"type": "auto", "last_messages": None}
    truncation = {"type": truncation["type"], "last_messages": truncation.get("last_messages")}
    if truncation["type"] == "last_messages" and not truncation["last_messages"]:
        raise invalid(
            "truncation_strategy of type 'last_messages' needs 'last_messages' (at least 1).",
            param="truncation_strategy.last_messages",
        )

    def pick(key: str, default: Any) -> Any:
        value = body.get(key)
        if value is None:
            value = assistant.get(key)
        return default if value is None else value

    created = now()
    run: dict[str, Any] = {
        "id": new_id("run"),
        "object": "thread.run",
        "created_at": created,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "status": "queued",
        "required_action": None,
        "last_error": None,
        "expires_at": created + c.config.run_expiry_seconds,
        "started_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "incomplete_details": None,
        "model": body.get("model") or assistant["model"],
        "instructions": instructions,
        "tools": tools,
        "metadata": check_metadata(body.get("metadata")),
        "usage": None,
        "temperature": pick("temperature", 1.0),
        "top_p": pick("top_p", 1.0),
        "max_prompt_tokens": body.get("max_prompt_tokens"),
        "max_completion_tokens": body.get("max_completion_tokens"),
        "truncation_strategy": truncation,
        "tool_choice": tool_choice,
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "response_format": pick("response_format", "auto"),
        "tool_resources": run_resources,
    }
    effort = body.get("reasoning_effort") or assistant.get("reasoning_effort")
    if effort is not None:
        run["reasoning_effort"] = effort
    return run


def _check_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> None:
    if not isinstance(choice, dict):
        return
    kind = choice["type"]
    if kind == "function":
        name = (choice.get("function") or {}).get("name")
        names = [t["function"]["name"] for t in tools if t["type"] == "function"]
        if name not in names:
            raise invalid(
                f"tool_choice names function '{name}', which is not in the run's tools "
                f"(functions: {names or 'none'}). Add it to the tools or pick another.",
                param="tool_choice",
            )
    elif not any(t["type"] == kind for t in tools):
        raise invalid(
            f"tool_choice forces '{kind}', but the run has no {kind} tool. Add it to the tools.",
            param="tool_choice",
        )
