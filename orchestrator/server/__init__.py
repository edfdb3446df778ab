"""The embedded Assistants API v2 server.

``create_app(ServerConfig(...))`` builds the ASGI app; ``orchestrator serve`` runs it
on uvicorn; :mod:`orchestrator.targets` runs it in-process for CLI commands.

Layers (each imports only the ones below it; ``tests/test_imports.py`` checks there is
no cycle, and that only the app imports routers)::

    app.py                      the FastAPI app: routers, auth, errors, lifespan
    routes/                     parse a request, call a service, frame the response
      deps.py                   the shared FastAPI dependencies (context, JSON body, paging)
    services/                   what the API does: assistants, threads, messages, runs,
                                files, vector_stores (+ resources, metadata checks)
    context.py                  ServerContext: config, store, engine, indexer of one server
    engine/                     runs outside the request: runs.py (a run's life),
                                executor.py (model rounds as Assistants objects),
                                responses.py (model rounds as Responses output items),
                                response_prompt.py, items.py, item_log.py (the Responses
                                side's prompt, input items and ordered item lists), and
                                the surface-neutral citations.py, file_search_call.py,
                                code_call.py both surfaces share
    indexing.py                 the vector store indexing worker (one per ServerContext)
    providers/                  model providers: local, chat, scripted steps
    tools/                      search index, chunking, extraction, citations format,
                                the code interpreter sandbox
    wire/                       request/response schemas: OpenAI's pinned spec subset
                                (__init__.py, openapi_subset.json), agents.py (the beta
                                Managed Agents wire, from the SDK's types)
    store.py, events.py, objects.py, errors.py, ids.py, config.py
"""

from typing import TYPE_CHECKING, Any

from orchestrator.server.config import SandboxLimits, ServerConfig, UpstreamConfig

if TYPE_CHECKING:
    from orchestrator.server.app import create_app

__all__ = ["SandboxLimits", "ServerConfig", "UpstreamConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # The app (FastAPI, every route) loads on first use: the settings and a command on a
    # URL target need only the config.
    if name == "create_app":
        from orchestrator.server.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
