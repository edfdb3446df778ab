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

from orchestrator.server.context import ServerContext
from orchestrator.server.engine import POLL_AFTER_MS
from orchestrator.server.errors import invalid
from orchestrator.server.objects import step_without_search_content
from orchestrator.server.routes.deps import ctx, json_body, list_params
from orchestrator.server.services import runs
from orchestrator.server.sse import run_events, sse_response
from orchestrator.server.store import ListParams

router = APIRouter()

SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


async def _include(
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


# -- routes ---------------------------------------------------------------------------


@router.post("/threads/runs")
async def create_thread_and_run(
    request: Request, include: bool = Depends(_include), c: ServerContext = Depends(ctx)
) -> Response:
    body = await json_body(request, "CreateThreadAndRunRequest")
    run = runs.create_thread_and_run(c, body)
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
    run = runs.create_run(c, thread_id, body)
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
    return _run_response(runs.thread_run(c, thread_id, run_id))


@router.post("/threads/{thread_id}/runs/{run_id}")
async def modify_run(
    thread_id: str, run_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> Response:
    body = await json_body(request, "ModifyRunRequest")
    return _run_response(runs.modify_run(c, thread_id, run_id, body))


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(thread_id: str, run_id: str, c: ServerContext = Depends(ctx)) -> Response:
    runs.thread_run(c, thread_id, run_id)
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
    runs.thread_run(c, thread_id, run_id)
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
    runs.thread_run(c, thread_id, run_id)
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
    runs.thread_run(c, thread_id, run_id)
    step = c.store.require("run_step", step_id, parent=run_id)
    return step if include else step_without_search_content(step)
