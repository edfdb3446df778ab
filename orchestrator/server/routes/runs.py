"""/v1/threads/{thread_id}/runs, /v1/threads/runs and run steps.

Runs are created ``queued`` and executed by the engine outside the request; with
``stream: true`` the response is the run's event log as server-sent events, until
the run finishes or needs tool outputs. Run responses carry ``openai-poll-after-ms``
so the SDK's polling helpers poll briskly.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from orchestrator.server.context import ServerContext, ctx, json_body, list_params
from orchestrator.server.engine import POLL_AFTER_MS
from orchestrator.server.errors import APIError, invalid
from orchestrator.server.ids import new_id, now
from orchestrator.server.objects import step_without_search_content
from orchestrator.server.routes.messages import insert_message, prepare_message
from orchestrator.server.routes.threads import create_thread
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.services.resources import check_tool_resources, normalise_tools
from orchestrator.server.sse import run_events, sse_response
from orchestrator.server.store import ListParams

router = APIRouter()

SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


def _include(
    include_brackets: list[str] = Query(default=[], alias="include[]"),
    include: list[str] = Query(default=[]),
) -> bool:
    """Whether ``include[]=step_details.tool_calls[*].file_search.results[*].content``."""
    values = [*include_brackets, *include]
    for value in values:
        if value != SEARCH_CONTENT:
            raise invalid(
                f"Invalid value for 'include': {value!r}. Supported values are: "
                f"['{SEARCH_CONTENT}'].",
                param="include",
            )
    return bool(values)


def _run_response(run: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        run, status_code=status_code, headers={"openai-poll-after-ms": str(POLL_AFTER_MS)}
    )


def _thread_run(c: ServerContext, thread_id: str, run_id: str) -> dict[str, Any]:
    c.store.require("thread", thread_id)
    return c.store.require("run", run_id, parent=thread_id)


def active_run_conflict(thread_id: str, run_id: str) -> APIError:
    # OpenAI's wording for a second run on a busy thread.
    return invalid(f"Thread {thread_id} already has an active run {run_id}.")


def _stream(c: ServerContext, run_id: str, after: int, include_content: bool) -> Response:
    transform = None if include_content else _strip_step_event
    return sse_response(run_events(c.engine.events, run_id, after, transform=transform))


def _strip_step_event(event: str, data: Any) -> Any:
    """A step event without file search result content (``include[]`` not asked)."""
    if not event.startswith("thread.run.step."):
        return data
    if event != "thread.run.step.delta":
        return step_without_search_content(data)
    details = data.get("delta", {}).get("step_details") or {}
    calls = details.get("tool_calls") or []
    if not any(call.get("type") == "file_search" for call in calls):
        return data
    new_calls = []
    for call in calls:
        fs = call.get("file_search")
        if call.get("type") == "file_search" and fs and fs.get("results"):
            results = [{k: v for k, v in r.items() if k != "content"} for r in fs["results"]]
            call = {**call, "file_search": {**fs, "results": results}}
        new_calls.append(call)
    return {**data, "delta": {"step_details": {**details, "tool_calls": new_calls}}}


# -- building a run -------------------------------------------------------------------


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


# -- routes ---------------------------------------------------------------------------


@router.post("/threads/runs")
async def create_thread_and_run(
    request: Request, include: bool = Depends(_include), c: ServerContext = Depends(ctx)
) -> Response:
    body = await json_body(request, "CreateThreadAndRunRequest")
    # Check the run's own fields before the thread exists, so a bad body creates nothing.
    resources = check_tool_resources(c, body.get("tool_resources") or {})
    probe = build_run(c, "thread_probe", body, run_resources=resources)
    thread = create_thread(c, body.get("thread") or {}, "thread.")
    run = {**probe, "thread_id": thread["id"]}
    c.engine.start_run(run, created_thread=thread)
    if body.get("stream"):
        return _stream(c, run["id"], 0, include)
    return _run_response(run)


@router.post("/threads/{thread_id}/runs")
async def create_run(
    thread_id: str,
    request: Request,
    include: bool = Depends(_include),
    c: ServerContext = Depends(ctx),
) -> Response:
    body = await json_body(request, "CreateRunRequest")
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
    if body.get("stream"):
        return _stream(c, run["id"], 0, include)
    return _run_response(run)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str, params: ListParams = Depends(list_params), c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    c.store.require("thread", thread_id)
    return c.store.list("run", params, parent=thread_id).body()


@router.get("/threads/{thread_id}/runs/{run_id}")
async def retrieve_run(thread_id: str, run_id: str, c: ServerContext = Depends(ctx)) -> Response:
    return _run_response(_thread_run(c, thread_id, run_id))


@router.post("/threads/{thread_id}/runs/{run_id}")
async def modify_run(
    thread_id: str, run_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> Response:
    body = await json_body(request, "ModifyRunRequest")
    run = _thread_run(c, thread_id, run_id)
    if "metadata" in body:
        metadata = check_metadata(body["metadata"])
        run = c.store.mutate("run", run_id, lambda r: r.update(metadata=metadata))
    return _run_response(run)


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(thread_id: str, run_id: str, c: ServerContext = Depends(ctx)) -> Response:
    _thread_run(c, thread_id, run_id)
    return _run_response(c.engine.cancel_run(run_id))


@router.post("/threads/{thread_id}/runs/{run_id}/submit_tool_outputs")
async def submit_tool_outputs(
    thread_id: str,
    run_id: str,
    request: Request,
    include: bool = Depends(_include),
    c: ServerContext = Depends(ctx),
) -> Response:
    body = await json_body(request, "SubmitToolOutputsRunRequest")
    _thread_run(c, thread_id, run_id)
    after = c.engine.events.last_seq(run_id)
    run = c.engine.submit_tool_outputs(run_id, body["tool_outputs"])
    if body.get("stream"):
        return _stream(c, run_id, after, include)
    return _run_response(run)


@router.get("/threads/{thread_id}/runs/{run_id}/steps")
async def list_run_steps(
    thread_id: str,
    run_id: str,
    params: ListParams = Depends(list_params),
    include: bool = Depends(_include),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    _thread_run(c, thread_id, run_id)
    page = c.store.list("run_step", params, parent=run_id).body()
    if not include:
        page["data"] = [step_without_search_content(s) for s in page["data"]]
    return page


@router.get("/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
async def retrieve_run_step(
    thread_id: str,
    run_id: str,
    step_id: str,
    include: bool = Depends(_include),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    _thread_run(c, thread_id, run_id)
    step = c.store.require("run_step", step_id, parent=run_id)
    return step if include else step_without_search_content(step)
