"""Request body limits: a size cap and an idle timeout, enforced while the body arrives.

Uploads (``multipart/form-data``: files, container files) may be up to
``max_upload_mb`` as OpenAI's Files API allows; every other body is JSON and capped at
``max_body_mb``. A declared ``content-length`` over the cap is refused before a byte is
read; a chunked body is counted as it streams and refused when it passes the cap. A body
that stops arriving for ``body_timeout_seconds`` is answered 408. A pure ASGI
middleware, so responses (SSE streams) pass through untouched.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from orchestrator.server.config import HttpLimits
from orchestrator.server.errors import APIError

_MB = 1024 * 1024


class BodyLimitError(APIError):
    """Raised from ``receive`` inside a route; the app's APIError handler renders it."""


def _too_large(limit: int, upload: bool) -> BodyLimitError:
    what = "A file upload" if upload else "A request body"
    return BodyLimitError(
        413,
        f"{what} may be at most {limit // _MB} MB; this one is larger. "
        + ("Split the file." if upload else "Send less per request (upload files instead)."),
        code="request_too_large",
    )


def _body_timeout(seconds: float) -> BodyLimitError:
    return BodyLimitError(
        408,
        f"The request body stopped arriving for {seconds:g} seconds; send it again.",
        code="request_timeout",
    )


def _header(scope: Any, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return b""


class BodyLimitMiddleware:
    def __init__(self, app: Any, limits: HttpLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = _header(scope, b"content-type").lower().startswith(b"multipart/form-data")
        limit = (self.limits.max_upload_mb if upload else self.limits.max_body_mb) * _MB
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await _send_error(send, _too_large(limit, upload))
            return
        timeout = self.limits.body_timeout_seconds
        received = 0
        body_done = False
        response_started = False

        async def limited_receive() -> Any:
            nonlocal received, body_done
            if body_done:
                # After the body, receive() only waits for a disconnect (SSE streams
                # listen for it for as long as they run): no timeout there.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                raise _body_timeout(timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit, upload)
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyLimitError as err:
            # Raised where no APIError handler runs (e.g. outside a route): answer here.
            if response_started:
                raise
            await _send_error(send, err)


async def _send_error(send: Any, err: APIError) -> None:
    body = json.dumps(err.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": err.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
