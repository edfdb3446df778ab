"""The FastAPI application: routers, auth, OpenAI-shaped errors, lifecycle."""

from __future__ import annotations

import hmac
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator import __version__
from orchestrator.server.body_limits import BodyLimitMiddleware
from orchestrator.server.config import ServerConfig
from orchestrator.server.context import ServerContext
from orchestrator.server.errors import APIError, insufficient_storage, is_disk_full
from orchestrator.server.request_id import RequestIdMiddleware
from orchestrator.server.routes import (
    agents,
    assistants,
    chat,
    containers,
    conversations,
    extensions,
    files,
    messages,
    responses,
    runs,
    threads,
    vector_stores,
)

log = logging.getLogger("orchestrator.server")


async def _auth(request: Request) -> None:
    config: ServerConfig = request.app.state.ctx.config
    if config.api_key is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    sent = token.strip().encode("utf-8", "surrogateescape")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent, config.api_key.encode()):
        # Never echo the key that was sent.
        raise APIError(
            401,
            "Incorrect API key provided. Use the key the server was started with "
            "(--api-key / ORCHESTRATOR_API_KEY) as a Bearer token.",
            code="invalid_api_key",
        )


def create_app(config: ServerConfig) -> FastAPI:
    context = ServerContext.build(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await context.engine.start()
        context.responses.recover()
        # Vector store indexing: resumes files left in progress by a previous process.
        context.indexer.start()
        try:
            yield
        finally:
            await context.responses.stop()
            await context.engine.stop()
            context.indexer.stop()
            context.store.close()

    app = FastAPI(
        title="assistant-orchestrator Assistants API v2",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.ctx = context
    app.add_middleware(BodyLimitMiddleware, limits=config.http)
    # Added last, so outermost: refusals of the body limits carry a request id too.
    app.add_middleware(RequestIdMiddleware)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(_auth)])
    # runs before threads: POST /threads/runs must not be read as /threads/{thread_id}.
    for module in (
        agents,
        assistants,
        runs,
        threads,
        messages,
        files,
        vector_stores,
        chat,
        extensions,
        conversations,
        containers,
        responses,
    ):
        v1.include_router(module.router)
    app.include_router(v1)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.exception_handler(APIError)
    async def api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", []) if p not in ("query", "body", "path")]
        param = ".".join(loc) or None
        err = APIError(
            400, f"Invalid value for '{param}': {first.get('msg', 'invalid')}", param=param
        )
        return JSONResponse(err.body(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"Invalid URL ({request.method} {request.url.path})"
        elif exc.status_code == 405:
            message = f"Method {request.method} not allowed for {request.url.path}"
        else:
            message = str(exc.detail)
        return JSONResponse(APIError(exc.status_code, message).body(), status_code=exc.status_code)

    def unexpected(exc: BaseException) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        err = APIError(
            500, "The server had an error while processing your request.", type="server_error"
        )
        return JSONResponse(err.body(), status_code=500)

    # OSError and sqlite3.Error get their own handlers (Starlette's ExceptionMiddleware
    # answers without re-raising, so a full disk is a clear 507 and no traceback).
    @app.exception_handler(OSError)
    @app.exception_handler(sqlite3.Error)
    async def storage_error(_: Request, exc: Exception) -> JSONResponse:
        if not is_disk_full(exc):
            return unexpected(exc)
        log.warning("disk full: %s", exc)
        err = insufficient_storage()
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(Exception)
    async def server_error(_: Request, exc: Exception) -> JSONResponse:
        return unexpected(exc)

    return app
