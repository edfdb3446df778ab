"""/v1/agents (Managed Agents, beta): create, retrieve, update, delete, list.

Like OpenAI, every call needs the ``OpenAI-Beta: agents=v1`` header (the SDK's
``client.beta.agents`` sends it); list takes only ``after``/``limit``/``order``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from orchestrator.server.context import ServerContext
from orchestrator.server.errors import APIError
from orchestrator.server.routes.deps import ctx, json_body
from orchestrator.server.services import agents
from orchestrator.server.store import ListParams, Order

BETA = "agents=v1"


async def _beta_header(request: Request) -> None:
    sent = [v.strip() for v in request.headers.get("openai-beta", "").split(",")]
    if BETA not in sent:
        raise APIError(
            400,
            "You must provide the 'OpenAI-Beta' header to access the Agents API. "
            f"Please try again by setting the header 'OpenAI-Beta: {BETA}'.",
            code="invalid_beta",
        )


router = APIRouter(dependencies=[Depends(_beta_header)])


def _list_params(limit: int = 20, order: Order = "desc", after: str | None = None) -> ListParams:
    return ListParams(limit=limit, order=order, after=after)


@router.post("/agents")
async def create_agent(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return agents.create_agent(c, await json_body(request))


@router.get("/agents/{agent_id}")
async def retrieve_agent(agent_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return c.store.require("agent", agent_id)


@router.post("/agents/{agent_id}")
async def update_agent(
    agent_id: str, request: Request, c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return agents.update_agent(c, agent_id, await json_body(request))


@router.delete("/agents/{agent_id}")
async def delete_agent(agent_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return agents.delete_agent(c, agent_id)


@router.get("/agents")
async def list_agents(
    params: ListParams = Depends(_list_params), c: ServerContext = Depends(ctx)
) -> dict[str, Any]:
    return c.store.list("agent", params).body()
