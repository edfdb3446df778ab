"""`serve -v`: one log line per request — method, path, status, milliseconds.

The path is logged without its query string and through a
:class:`~orchestrator.redaction.Redactor` (a client may put a key in a URL); headers and
bodies are never logged, and the CLI's log handlers redact the server's own keys too. A pure ASGI wrapper, so streaming responses are timed to their last byte.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from orchestrator.redaction import Redactor

REQUEST_LOGGER = "orchestrator.requests"
logger = logging.getLogger(REQUEST_LOGGER)
_redact = Redactor()

Scope = dict[str, Any]


class RequestLog:
    """Wraps an ASGI app; logs each HTTP request when it is done (INFO)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ms = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s %s %.1f ms",
                scope.get("method", "?"),
                _redact(scope.get("path", "")),
                status if status is not None else "-",
                ms,
            )
