"""An ``x-request-id`` header on every response, as OpenAI sends one.

The SDKs expose it (``response._request_id`` in Python, ``_request_id`` in Node) and
users log it to tie a client-side failure to the server's log. The id is new for each
request (``req_`` and 32 hex digits, OpenAI's shape); a pure ASGI middleware, so
streamed responses pass through unbuffered.
"""

from __future__ import annotations

import secrets
from typing import Any

HEADER = b"x-request-id"


def new_request_id() -> str:
    return "req_" + secrets.token_hex(16)


class RequestIdMiddleware:
    """Adds ``x-request-id`` to every HTTP response start."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id().encode()

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id)]}
            await send(message)

        await self.app(scope, receive, send_with_id)
