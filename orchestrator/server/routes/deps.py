"""FastAPI dependencies every router shares: the server's context, the JSON body checked
against the pinned spec, and the list endpoints' pagination query."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from orchestrator.server.context import ServerContext
from orchestrator.server.errors import invalid
from orchestrator.server.store import ListParams
from orchestrator.server.wire import check_request


def ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


async def json_body(request: Request, schema: str | None = None) -> dict[str, Any]:
    """The request's JSON body, validated against a request schema of the pinned spec."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly.)"
        ) from None
    if schema is not None:
        check_request(schema, body)
    elif not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def list_params(
    limit: int = 20, order: str = "desc", after: str | None = None, before: str | None = None
) -> ListParams:
    """FastAPI dependency for the list endpoints' pagination query."""
    return ListParams(limit=limit, order=order, after=after, before=before)  # type: ignore[arg-type]
