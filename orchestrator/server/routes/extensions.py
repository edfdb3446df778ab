"""/v1/x-orchestrator/...: this server's own endpoints, outside OpenAI's API.

``/v1/x-orchestrator/threads/{thread_id}/script`` queues scripted steps for the
local model on a thread (the scenario runner's replay): ``POST`` a
:class:`~orchestrator.scripting.Script` to queue steps, ``GET`` to see what
is pending, ``DELETE`` to clear it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from orchestrator.scripting import Script, ScriptStep
from orchestrator.server.context import ServerContext
from orchestrator.server.errors import invalid
from orchestrator.server.providers.script import ScriptQueue
from orchestrator.server.routes.deps import ctx, parse_json

router = APIRouter()


def _body(thread_id: str, steps: list[ScriptStep]) -> dict[str, Any]:
    return {
        "object": "x-orchestrator.script",
        "thread_id": thread_id,
        "pending": [s.model_dump(mode="json", exclude_none=True) for s in steps],
    }


@router.post("/x-orchestrator/threads/{thread_id}/script")
async def push_script(
    thread_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    _require_owner(c, thread_id)
    raw = parse_json(await request.body())
    try:
        script = Script.model_validate(raw)
    except ValueError as exc:
        raise invalid(_script_problem(exc)) from None
    steps = ScriptQueue(c.store).push(thread_id, script.steps, script.mode)
    return _body(thread_id, steps)


@router.get("/x-orchestrator/threads/{thread_id}/script")
async def get_script(thread_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    _require_owner(c, thread_id)
    return _body(thread_id, ScriptQueue(c.store).pending(thread_id))


@router.delete("/x-orchestrator/threads/{thread_id}/script")
async def clear_script(thread_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    _require_owner(c, thread_id)
    ScriptQueue(c.store).clear(thread_id)
    return _body(thread_id, [])


def _require_owner(c: ServerContext, thread_id: str) -> None:
    """A script belongs to a thread (runs) or a conversation (responses played on it)."""
    if c.store.get("conversation", thread_id) is None:
        c.store.require("thread", thread_id)


def _script_problem(exc: ValueError) -> str:
    if not isinstance(exc, ValidationError):
        return "The script body is not valid JSON."
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return (
        f'Invalid script: {where}: {first["msg"]}. Expected {{"steps": [{{"reply": ...}} '
        'or {"tool_calls": [...]}], "mode": "append" | "replace"}.'
    )
