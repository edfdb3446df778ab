"""FastAPI dependencies every router shares: the server's context, the JSON body checked
against the pinned spec, and the list endpoints' pagination query."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Query, Request

from orchestrator.server.context import ServerContext
from orchestrator.server.errors import invalid
from orchestrator.server.store import ListParams
from orchestrator.server.wire import check_request


# Dependencies are `async def` where they do no blocking I/O: FastAPI runs a sync one in
# the thread pool, a hop per request that costs more CPU than the work itself.
async def ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN/Infinity, no lone surrogates, bounded nesting; else a 400."""
    try:
        body = json.loads(raw, parse_constant=_no_constant) if raw.strip() else {}
    except RecursionError:
        raise invalid("The JSON body of your request nests too deeply.") from None
    except ValueError as exc:
        detail = f" ({exc})" if "is not a JSON value" in str(exc) else ""
        raise invalid(
            f"We could not parse the JSON body of your request{detail}. (HINT: This likely "
            "means you aren't using your HTTP library correctly.)"
        ) from None
    try:
        # A lone surrogate escape ("\ud800") parses but is not text: no store can keep it.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(
            "The JSON body of your request contains a lone surrogate escape (\\ud800-\\udfff), "
            "which is not valid Unicode text."
        ) from None
    except RecursionError:
        raise invalid("The JSON body of your request nests too deeply.") from None
    return body


async def json_body(request: Request, schema: str | None = None) -> dict[str, Any]:
    """The request's JSON body, validated against a request schema of the pinned spec."""
    body = parse_json(await request.body())
    if schema is not None:
        check_request(schema, body)
    elif not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


async def list_params(
    limit: int = 20, order: str = "desc", after: str | None = None, before: str | None = None
) -> ListParams:
    """FastAPI dependency for the list endpoints' pagination query."""
    return ListParams(limit=limit, order=order, after=after, before=before)  # type: ignore[arg-type]


async def include_values(
    include_brackets: list[str] = Query(default=[], alias="include[]"),
    include: list[str] = Query(default=[]),
) -> list[str]:
    """FastAPI dependency for an ``include`` query: the SDK sends ``include[]=...``."""
    return [*include_brackets, *include]
