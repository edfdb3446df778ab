"""What every route handler and service needs: the config, the store, the run engine and
the indexing worker of one server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from orchestrator.server.config import ServerConfig
from orchestrator.server.engine import Engine
from orchestrator.server.errors import invalid
from orchestrator.server.indexing import Indexer
from orchestrator.server.store import ListParams, Store


@dataclass
class ServerContext:
    config: ServerConfig
    store: Store
    engine: Engine
    indexer: Indexer

    @classmethod
    def build(cls, config: ServerConfig) -> ServerContext:
        """A server's parts, not yet started (the app's lifespan starts and stops them)."""
        store = Store(config.db_path)
        return cls(config=config, store=store, engine=Engine(config, store), indexer=Indexer(store))


def ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


async def json_body(request: Request, schema: str | None = None) -> dict[str, Any]:
    """The request's JSON body, validated against a request schema of the pinned spec."""
    from orchestrator.server.wire import check_request

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
