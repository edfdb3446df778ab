"""The ``chat`` model provider: generation by any ``/v1/chat/completions`` endpoint.

OpenAI's Chat Completions API, vLLM, Ollama, llama.cpp's server and LiteLLM all speak
it. Each model request of a run becomes one streaming upstream call (mapping in
``chat_mapping.py``): text deltas and tool-call deltas are passed on as they arrive,
then one :class:`ModelResponse` with the assembled reply or tool calls and the
upstream's token counts.

Failures (``chat_errors.py``): 429, 408/409, 5xx, connection errors and timeouts are
retried ``max_retries`` times with exponential backoff, honouring ``Retry-After``; a
request the upstream rejects as such (400/413/422) is not. What is left becomes a
:class:`ModelError` whose code is the run's ``last_error.code``. Retries happen only
before any output was passed on; a stream that breaks off later fails the step.

The upstream key goes only into the ``Authorization`` header: it is never logged and
is scrubbed from every error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from orchestrator.redaction import Redactor, display_url
from orchestrator.server.config import ServerConfig, UpstreamConfig
from orchestrator.server.providers.base import (
    ModelError,
    ModelRequest,
    ModelResponse,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from orchestrator.server.providers.chat_errors import (
    Failure,
    classify_status,
    classify_stream_error,
    classify_transport,
    upstream_message,
)
from orchestrator.server.providers.chat_mapping import (
    ToolCallAssembler,
    WireNames,
    build_payload,
    estimate_prompt_tokens,
    estimate_tokens,
    parse_usage,
    upstream_model,
    wire_names,
)
from orchestrator.server.providers.chat_text_tools import TextHold, parse_text_calls, tools_in_text

log = logging.getLogger("orchestrator.server.providers.chat")

# Backoff between attempts: 0.25 s, 0.5 s, 1 s, ... (with jitter), at most 8 s.
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0
# A Retry-After longer than this (e.g. a daily quota) fails the run now instead.
MAX_RETRY_AFTER_SECONDS = 60.0
# Optional parameters an older or stricter upstream may reject; dropped on such a 400.
DROPPABLE = ("stream_options", "max_tokens", "max_completion_tokens", "parallel_tool_calls")
_REJECTION_WORDS = (
    "unsupported",
    "not supported",
    "unknown",
    "unrecognized",
    "unrecognised",
    "extra",
    "not permitted",
    "not allowed",
    "instead",
    "not valid",
    "at the same time",
)

Item = TextDelta | ToolCallDelta | ModelResponse


def endpoint_url(base_url: str, path: str) -> str:
    """``path`` under the base URL, keeping its query string (``?api-version=``...)."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{path}"))


class _RetryableStreamError(Exception):
    """An error event at the start of a stream (overloaded, rate limited): retry."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class ChatModel:
    """A :class:`~orchestrator.server.providers.base.Model` backed by an upstream endpoint."""

    def __init__(self, config: ServerConfig) -> None:
        if config.upstream is None or not config.upstream.base_url:
            raise ValueError(
                "the chat model provider needs an upstream endpoint: pass "
                "--upstream-base-url URL (or set ORCHESTRATOR_UPSTREAM_BASE_URL, or "
                "server.upstream_base_url in orchestrator.yaml)"
            )
        self.upstream: UpstreamConfig = config.upstream
        self.endpoint = endpoint_url(self.upstream.base_url, "chat/completions")
        self.where = display_url(self.endpoint)
        self.redact = Redactor(*config.secrets())
        # Parameters this upstream has rejected; not sent again.
        self.dropped: set[str] = set()
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:  # Never shows the key.
        return f"ChatModel({self.where!r})"

    def _http(self) -> httpx.AsyncClient:
        # One pooled client per event loop (connections are bound to the loop).
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            t = self.upstream.timeout_seconds
            headers = {"Accept": "text/event-stream, application/json"}
            if self.upstream.api_key:
                headers["Authorization"] = f"Bearer {self.upstream.api_key}"
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(t, connect=min(t, 10.0)),
                headers=headers,
                # Not followed: a POST redirected elsewhere would carry the key along.
                follow_redirects=False,
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _model_error(self, failure: Failure, attempts: int) -> ModelError:
        message = failure.message
        if attempts > 1:
            message += f" (gave up after {attempts} attempts)"
        return ModelError(failure.code, self.redact(message))

    def _delay(self, attempt: int, failure: Failure) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if not failure.retryable or attempt > self.upstream.max_retries:
            return None
        if failure.retry_after is not None:
            if failure.retry_after > MAX_RETRY_AFTER_SECONDS:
                failure.message += (
                    f" The upstream asked to wait {failure.retry_after:.0f} s before retrying."
                )
                return None
            return failure.retry_after
        backoff = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return backoff * random.uniform(0.8, 1.2)

    def _drop_rejected(self, payload: dict[str, Any], said: str) -> bool:
        """On a 400 naming an optional parameter we sent, drop it and try again."""
        lowered = said.lower()
        if not any(w in lowered for w in _REJECTION_WORDS):
            return False
        for name in DROPPABLE:
            if name not in payload or name not in lowered:
                continue
            # Keep one of the two length caps.
            other = {"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}
            if name in other and other[name] not in payload:
                continue
            payload.pop(name)
            self.dropped.add(name)
            log.warning("upstream %s rejects '%s'; not sending it again", self.where, name)
            return True
        return False

    async def stream(self, request: ModelRequest) -> AsyncIterator[Item]:
        names = wire_names(request)
        model = upstream_model(request.model, self.upstream.model_map)
        payload = build_payload(request, model, names)
        mode = self.upstream.tool_call_format
        if mode == "json-in-text":
            payload = tools_in_text(payload)
        # Offered functions by wire name, with their schemas: what a call written as
        # text may name (json-in-text and auto).
        functions = (
            {}
            if mode == "native"
            else {
                t["function"]["name"]: t["function"].get("parameters") or {}
                for t in build_payload(request, model, names).get("tools", [])
            }
        )
        for name in self.dropped:
            payload.pop(name, None)
        offered = {t.type for t in request.tools}
        attempt = 0
        while True:
            attempt += 1
            emitted = False
            try:
                async with self._http().stream("POST", self.endpoint, json=payload) as resp:
                    if resp.status_code >= 300:
                        body = await resp.aread()
                        failure = classify_status(
                            resp.status_code,
                            resp.headers,
                            body,
                            url=self.where,
                            model=model,
                            redact=self.redact,
                        )
                        said, _ = upstream_message(body, redact=self.redact)
                        if resp.status_code == 400 and self._drop_rejected(payload, said):
                            attempt -= 1
                            continue
                    else:
                        items = self._consume(resp, names, offered, payload, functions)
                        async for item in items:
                            emitted = True
                            yield item
                        return
            except _RetryableStreamError as exc:
                failure = exc.failure
            except httpx.HTTPError as exc:
                if emitted:
                    raise ModelError(
                        "server_error",
                        self.redact(
                            f"The upstream model endpoint {self.where} broke off the reply "
                            f"midway ({type(exc).__name__}: {exc or 'no detail'})."
                        ),
                    ) from None
                failure = classify_transport(
                    exc, url=self.where, timeout=self.upstream.timeout_seconds
                )
            delay = self._delay(attempt, failure)
            if delay is None:
                raise self._model_error(failure, attempt)
            log.warning(
                "upstream %s: %s; retrying in %.2f s (attempt %d of %d)",
                self.where,
                self.redact(failure.message),
                delay,
                attempt + 1,
                self.upstream.max_retries + 1,
            )
            await asyncio.sleep(delay)

    async def _consume(
        self,
        resp: httpx.Response,
        names: WireNames,
        offered: set[Any],
        payload: dict[str, Any],
        functions: dict[str, dict[str, Any]],
    ) -> AsyncIterator[Item]:
        assembler = ToolCallAssembler(names, offered)
        # Calls written as text (chat_text_tools) are held back until they parse.
        hold = TextHold() if functions else None
        text: list[str] = []
        usage = None
        finish: str | None = None
        done = False

        if "text/event-stream" not in resp.headers.get("content-type", ""):
            # An upstream that ignores `stream` and answers with one chat.completion.
            body = await resp.aread()
            try:
                chunks: AsyncIterator[dict[str, Any]] | list[dict[str, Any]] = [json.loads(body)]
            except ValueError:
                raise ModelError(
                    "server_error",
                    f"The upstream model endpoint {self.where} answered with something that is "
                    f"not a chat completion ({resp.headers.get('content-type') or 'no content type'}).",
                ) from None
            done = True
        else:
            chunks = _sse_json(resp)

        async for chunk in _aiter(chunks):
            if chunk is None:
                done = True
                break
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error") and not chunk.get("choices"):
                failure = classify_stream_error(chunk["error"], url=self.where, redact=self.redact)
                if failure.retryable and not text and not assembler.slots:
                    raise _RetryableStreamError(failure)  # Nothing passed on yet.
                raise ModelError(failure.code, self.redact(failure.message))
            usage = parse_usage(chunk.get("usage")) or usage
            for choice in chunk.get("choices") or []:
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or choice.get("message") or {}
                # A refusal (OpenAI structured outputs) is what the user gets to read.
                for key in ("content", "refusal"):
                    content = delta.get(key)
                    if isinstance(content, str) and content:
                        text.append(content)
                        passed = hold.feed(content) if hold is not None else content
                        if passed:
                            yield TextDelta(passed)
                for raw in delta.get("tool_calls") or []:
                    if isinstance(raw, dict) and (piece := assembler.feed(raw)):
                        yield piece
                if isinstance(delta.get("function_call"), dict):  # Legacy single call.
                    piece = assembler.feed({"index": 0, "function": delta["function_call"]})
                    if piece:
                        yield piece
                finish = choice.get("finish_reason") or finish

        if not done and finish is None:
            raise ModelError(
                "server_error",
                f"The upstream model endpoint {self.where} ended the stream before the reply "
                "was complete.",
            )
        if assembler.unnamed():
            raise ModelError(
                "server_error",
                f"The upstream model endpoint {self.where} sent a tool call without a "
                "function name.",
            )
        held = hold.take() if hold is not None else ""
        if held:
            written = None if assembler.slots else parse_text_calls(held, functions)
            if written is None:
                yield TextDelta(held)
            else:
                text = []  # the reply was the calls
                for i, call in enumerate(written):
                    raw = {"index": i, "function": {"name": call.name, "arguments": call.arguments}}
                    if piece := assembler.feed(raw):
                        yield piece  # the header, with the whole arguments
        calls = assembler.calls()
        reply = "".join(text)
        if usage is None:
            completion = reply + "".join(c.name + c.arguments for c in calls)
            usage = Usage(estimate_prompt_tokens(payload), estimate_tokens(completion))
        yield ModelResponse(
            text=reply or None,
            tool_calls=calls,
            usage=usage,
            finish_reason="tool_calls" if calls else "length" if finish == "length" else "stop",
        )


async def _aiter(items: Any) -> AsyncIterator[Any]:
    if isinstance(items, list):
        for item in items:
            yield item
    else:
        async for item in items:
            yield item


async def _sse_json(resp: httpx.Response) -> AsyncIterator[dict[str, Any] | None]:
    """JSON objects from the SSE ``data:`` fields; None for ``[DONE]``."""
    data: list[str] = []

    def decoded(lines: list[str]) -> list[Any]:
        joined = "\n".join(lines)
        if joined.strip() == "[DONE]":
            return [None]
        try:
            return [json.loads(joined)]
        except ValueError:
            # Servers that skip the blank line between events: one object a line.
            out = []
            for line in lines:
                if line.strip() == "[DONE]":
                    out.append(None)
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
            return out

    async for line in resp.aiter_lines():
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        if line.strip() == "" and data:
            for obj in decoded(data):
                yield obj
            data = []
        # Other fields (event:, id:, retry:) and ": comments" (keep-alives) are ignored.
    if data:
        for obj in decoded(data):
            yield obj
