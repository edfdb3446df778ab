"""What an upstream failure means for a run: its ``last_error`` code, message, retry.

Upstream answers map to the three codes a run's ``last_error`` can carry:
``rate_limit_exceeded`` (429), ``invalid_prompt`` (400/413/422: the request itself is
wrong, e.g. the conversation is too long) and ``server_error`` (5xx, connection
failures, timeouts, a rejected key, an unknown model or endpoint). Messages say what
the upstream said and what to do; the upstream key is scrubbed from all of them.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from dataclasses import dataclass
from typing import Literal

import httpx

from orchestrator.redaction import Redactor, display_url, shorten

ErrorCode = Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]

# Statuses worth another attempt (as the openai SDK: timeouts, lock conflicts, limits, 5xx).
RETRYABLE_STATUSES = frozenset({408, 409, 429})


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (seconds or a date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def upstream_message(
    body: bytes, limit: int = 300, *, redact: Redactor | None = None
) -> tuple[str, str | None]:
    """The upstream's own error message and code, from any of the usual body shapes,
    redacted before it is shortened (a cut key cannot be recognised any more)."""
    text = body.decode("utf-8", "replace").strip()
    code = None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            code = err.get("code") or err.get("type")
            msg = err.get("message") or err.get("detail") or err.get("msg")
            text = msg if isinstance(msg, str) else json.dumps(msg if msg else err)
        elif isinstance(err, str):
            text = err
        elif isinstance(data.get("detail"), (str, list)):  # FastAPI-style servers (vLLM)
            detail = data["detail"]
            text = detail if isinstance(detail, str) else json.dumps(detail)
    text = " ".join(text.split())
    text = shorten(redact(text) if redact else text, limit)
    return text or "no message", str(code) if code else None


@dataclass
class Failure:
    code: ErrorCode
    message: str
    retryable: bool
    retry_after: float | None = None


def classify_status(
    status: int,
    headers: httpx.Headers,
    body: bytes,
    *,
    url: str,
    model: str,
    redact: Redactor | None = None,
) -> Failure:
    said, code = upstream_message(body, redact=redact)
    where = f"The upstream model endpoint {url}"
    retry_after = parse_retry_after(headers)
    if status == 429:
        return Failure(
            "rate_limit_exceeded",
            f"{where} is rate limiting requests (429: {said}). Try again later, or raise "
            "the upstream's limits.",
            retryable=True,
            retry_after=retry_after,
        )
    if status >= 500 or status in RETRYABLE_STATUSES:
        return Failure(
            "server_error",
            f"{where} failed ({status}: {said}).",
            retryable=True,
            retry_after=retry_after,
        )
    if status in (401, 403):
        return Failure(
            "server_error",
            f"{where} rejected the server's credentials ({status}: {said}). Check "
            "--upstream-api-key / ORCHESTRATOR_UPSTREAM_API_KEY (or server.upstream_api_key "
            "in orchestrator.yaml).",
            retryable=False,
        )
    if status == 404:
        return Failure(
            "server_error",
            f"{where} answered 404 for model '{model}' ({said}). Check that the base URL "
            "ends in /v1 and that the upstream serves this model; map assistant model names "
            "to upstream ones with --model-map NAME=UPSTREAM.",
            retryable=False,
        )
    if 300 <= status < 400:
        location = headers.get("location")
        to = f" to {display_url(location)}" if location else ""
        return Failure(
            "server_error",
            f"{where} redirects{to} ({status}). Use the final URL as --upstream-base-url.",
            retryable=False,
        )
    if status in (400, 413, 422):
        too_long = code == "context_length_exceeded" or re.search(
            r"context|too long|maximum .*tokens|too many tokens", said, re.IGNORECASE
        )
        hint = (
            "The conversation is too long for the upstream model: shorten it with the run's "
            "truncation_strategy (last_messages) or max_prompt_tokens."
            if too_long
            else "Check the run's parameters (response_format, tools, temperature) against "
            "what the upstream model supports."
        )
        return Failure(
            "invalid_prompt", f"{where} rejected the request ({status}: {said}). {hint}", False
        )
    return Failure("server_error", f"{where} answered {status}: {said}.", retryable=False)


def classify_transport(exc: Exception, *, url: str, timeout: float) -> Failure:
    if isinstance(exc, httpx.TimeoutException):
        what = (
            "did not accept a connection"
            if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            else "did not answer"
        )
        return Failure(
            "server_error",
            f"The upstream model endpoint {url} {what} within {timeout:g} s (raise it with "
            "--upstream-timeout).",
            retryable=True,
        )
    if isinstance(exc, httpx.ConnectError):
        return Failure(
            "server_error",
            f"The upstream model endpoint {url} is unreachable ({exc or 'connection failed'}). "
            "Check that it is running and that --upstream-base-url points at it.",
            retryable=True,
        )
    return Failure(
        "server_error",
        f"The connection to the upstream model endpoint {url} failed "
        f"({type(exc).__name__}: {exc or 'no detail'}).",
        retryable=True,
    )


def classify_stream_error(error: object, *, url: str, redact: Redactor | None = None) -> Failure:
    """An ``error`` object sent inside a stream (vLLM, OpenRouter, LiteLLM do this)."""
    said, code = upstream_message(json.dumps({"error": error}).encode(), redact=redact)
    lowered = f"{code} {said}".lower()
    if code == "context_length_exceeded" or "context length" in lowered:
        return Failure(
            "invalid_prompt",
            f"The upstream model endpoint {url} rejected the request: {said}. Shorten the "
            "conversation with the run's truncation_strategy or max_prompt_tokens.",
            retryable=False,
        )
    if ("rate" in lowered and "limit" in lowered) or "429" in lowered:
        return Failure(
            "rate_limit_exceeded",
            f"The upstream model endpoint {url} is rate limiting requests ({said}).",
            retryable=True,
        )
    return Failure(
        "server_error", f"The upstream model endpoint {url} failed mid-stream ({said}).", True
    )
