"""/v1/responses: create (plain, streamed, background), retrieve (or resume its stream),
delete, cancel, input items, input token counts; named 501s for the rest of the spec."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from orchestrator.server.context import ServerContext
from orchestrator.server.engine.items import check_include, present
from orchestrator.server.errors import invalid
from orchestrator.server.routes.deps import ctx, include_values, json_body
from orchestrator.server.services import responses
from orchestrator.server.sse import sse_response

router = APIRouter()


@router.post("/responses", response_model=None)
async def create_response(
    request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any] | StreamingResponse:
    body = await json_body(request, "CreateResponse")
    runner = c.responses
    response, history, items = responses.create(runner, body)
    if body.get("stream"):
        runner.launch(response["id"], history, items)
        return sse_response(runner.stream(response["id"], -1))
    if response["background"]:
        runner.launch(response["id"], history, items)
        return runner.shown(response)
    return await runner.respond(response["id"], history, items)


@router.post("/responses/input_tokens")
async def count_input_tokens(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    body = await json_body(request, "TokenCountsBody")
    return responses.input_tokens(c.responses, body)


@router.post("/responses/compact")
async def compact_response(request: Request) -> None:
    raise responses.not_implemented("POST /v1/responses/compact")


@router.get("/responses/{response_id}", response_model=None)
async def retrieve_response(
    response_id: str,
    stream: bool = False,
    starting_after: int | None = None,
    include: list[str] = Depends(include_values),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any] | StreamingResponse:
    runner = c.responses
    response = responses.require(c.store, response_id)
    if stream:
        if not response.get("background"):
            raise invalid(
                "Only background responses can be streamed with GET; create the response "
                "with background: true.",
                param="stream",
            )
        after = -1 if starting_after is None else starting_after
        return sse_response(runner.stream(response_id, after))
    # A read includes what its own `include` asks for (not what the create asked for).
    wanted = check_include(include)
    return {**response, "output": [present(i, wanted) for i in response["output"]]}


@router.delete("/responses/{response_id}")
async def delete_response(response_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return responses.delete(c.responses, response_id)


@router.post("/responses/{response_id}/cancel")
async def cancel_response(response_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    runner = c.responses
    runner.cancel(response_id)
    await runner.wait(response_id)
    return runner.shown(responses.require(c.store, response_id))


@router.get("/responses/{response_id}/input_items")
async def list_input_items(
    response_id: str,
    limit: int = 20,
    order: str = "desc",
    after: str | None = None,
    include: list[str] = Depends(include_values),
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    page = responses.input_items(
        c.store,
        response_id,
        limit=limit,
        order=order,  # type: ignore[arg-type]
        after=after,
        include=include,
    )
    return page.body()
