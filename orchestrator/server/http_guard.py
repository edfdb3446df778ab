"""The uvicorn server configuration, with the limits that keep slow or greedy clients out.

:func:`uvicorn_config` is the one place a uvicorn config is built (``orchestrator
serve`` and the in-process embedded target both use it). uvicorn itself has no timeout
for a request's headers and counts connections only after a request arrived, so
:func:`guarded_protocol` extends its h11 protocol: a connection must finish its headers
within ``header_timeout_seconds``, and a connection past ``max_connections`` is answered
503 and closed at once (its file descriptor freed) instead of being held.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from orchestrator.redaction import log_redaction
from orchestrator.server.config import HttpLimits
from orchestrator.server.errors import APIError
from orchestrator.server.log_throttle import throttle_repeated_errors

log = logging.getLogger("orchestrator.server")

# File descriptors kept free for the database, blobs, sandbox pipes and upstream calls.
_RESERVED_FDS = 64
# Largest request head (request line + headers) accepted; h11's default is 16 KiB.
_MAX_HEAD_BYTES = 64 * 1024


def raw_error_response(err: APIError) -> bytes:
    """A complete HTTP/1.1 response with the error's OpenAI-shaped body; closes the connection."""
    body = json.dumps(err.body()).encode()
    reason = {408: "Request Timeout", 503: "Service Unavailable"}.get(err.status, "Error")
    head = (
        f"HTTP/1.1 {err.status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def connection_limit(configured: int) -> int:
    """``configured``, lowered to what the open-file limit leaves after the reserve."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, soft - _RESERVED_FDS))


_TOO_MANY = APIError(
    503,
    "The server has too many open connections; retry shortly.",
    type="server_error",
    code="too_many_connections",
)
_HEADER_TIMEOUT = APIError(
    408,
    "The request headers were not received in time; the connection is closed.",
    code="request_timeout",
)


def guarded_protocol(limits: HttpLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a header deadline and a connection cap."""
    max_connections = connection_limit(limits.max_connections)

    class GuardedH11Protocol(H11Protocol):
        _header_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                log.warning(
                    "refusing connections: %d open, the limit is %d",
                    len(self.connections),
                    max_connections,
                )
                self._refuse(_TOO_MANY)
                return
            self._arm_header_deadline()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            # Past IDLE, the request's headers are complete (the body has its own timeout).
            if self.conn.their_state is not h11.IDLE:
                self._disarm_header_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # Keep-alive: the next request's headers get the same deadline once they start.
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm_header_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_deadline()
            super().connection_lost(exc)

        def _arm_header_deadline(self) -> None:
            self._disarm_header_deadline()
            self._header_deadline = self.loop.call_later(
                limits.header_timeout_seconds, self._headers_too_slow
            )

        def _disarm_header_deadline(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _headers_too_slow(self) -> None:
            self._header_deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._refuse(_HEADER_TIMEOUT)

        def _refuse(self, err: APIError) -> None:
            self._unset_keepalive_if_required()
            self.transport.write(raw_error_response(err))
            self.transport.close()

    return GuardedH11Protocol


def uvicorn_config(app: Any, limits: HttpLimits, **options: Any) -> uvicorn.Config:
    """The server's uvicorn config; ``options`` add to it (log level, shutdown timeout...)."""
    throttle_repeated_errors()
    config = uvicorn.Config(
        app,
        http=guarded_protocol(limits),
        h11_max_incomplete_event_size=_MAX_HEAD_BYTES,
        **options,
    )
    # uvicorn's loggers have handlers of their own (set up just now) and do not propagate
    # to the root logger's: its tracebacks and access lines get the redaction here.
    log_redaction.install("uvicorn", "uvicorn.error", "uvicorn.access")
    return config
