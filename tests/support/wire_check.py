"""Check every response the server sends against OpenAI's pinned spec.

:class:`SpecChecker` is an httpx response hook: it finds the spec operation for the
request (path template + method), takes the response schema for the status code, and
validates the JSON body. Server-sent events are validated per event against the
spec's ``AssistantStreamEvent`` union (or ``ResponseStreamEvent`` for the Responses
API) by :func:`check_sse_event`. Violations are
collected, and the ``client`` fixture fails the test that caused them.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, Literal

import httpx
from jsonschema import Draft202012Validator
from openai.types.beta import Agent, AgentDeleted
from pydantic import BaseModel, ValidationError

from orchestrator.server import wire


@cache
def _operations() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    ops = []
    for template, item in wire.spec()["paths"].items():
        pattern = re.compile("^/v1" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$")
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                ops.append((pattern, method.upper(), op))
    # Literal paths before templated ones (e.g. /threads/runs before /threads/{id}).
    ops.sort(key=lambda t: t[0].pattern.count("[^/]+"))
    return ops


def _ref_validator(schema: dict[str, Any]) -> Draft202012Validator | None:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return wire.validator(ref.rsplit("/", 1)[1])
    return None


def response_validator(method: str, path: str, status: int) -> Draft202012Validator | None:
    for pattern, m, op in _operations():
        if m == method and pattern.match(path):
            resp = op["responses"].get(str(status))
            if resp is None:
                return None
            content = resp.get("content", {}).get("application/json")
            # A documented status without a body schema (e.g. deleting a container): any body.
            return _ref_validator(content["schema"]) if content else Draft202012Validator({})
    return None


def _errors(validator: Draft202012Validator, body: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
        for e in validator.iter_errors(body)
    ]


def check_sse_event(event: str, data: Any) -> list[str]:
    """Problems with one SSE event against the spec's AssistantStreamEvent union."""
    if event == "done":
        return [] if data == "[DONE]" else [f"done event with data {data!r}"]
    if event.startswith("response.") or (isinstance(data, dict) and "sequence_number" in data):
        # A Responses stream: the data is the event, named by its own `type`.
        problems = _errors(wire.validator("ResponseStreamEvent"), data)
        if isinstance(data, dict) and data.get("type") != event:
            problems.append(f"type {data.get('type')!r} differs from the event name")
        return [f"SSE {event}: {p}" for p in problems]
    wrapped = {"event": event, "data": data}
    problems = _errors(wire.validator("AssistantStreamEvent"), wrapped)
    return [f"SSE {event}: {p}" for p in problems]


def check_agent_body(method: str, path: str, body: Any) -> list[str]:
    """The pinned spec has no /agents: check against the SDK's own (generated) types,
    strictly, so a missing or mistyped field is a violation rather than a default."""
    if method == "DELETE":
        model: type[BaseModel] = AgentDeleted
    elif method == "GET" and path == "/v1/agents":
        model = _AgentPage
    else:
        model = Agent
    try:
        model.model_validate(body, strict=True)
    except ValidationError as exc:
        return [f"{method} {path}: {e['loc']}: {e['msg']}" for e in exc.errors()[:5]]
    return []


class _AgentPage(BaseModel):
    object: Literal["list"]
    data: list[Agent]
    first_id: str | None
    last_id: str | None
    has_more: bool


class SpecChecker:
    def __init__(self) -> None:
        self.violations: list[str] = []
        self.checked = 0

    def __call__(self, response: httpx.Response) -> None:
        ctype = response.headers.get("content-type", "")
        request = response.request
        if "application/json" not in ctype:
            return
        response.read()
        body = response.json()
        path = request.url.path
        if response.status_code >= 400:
            ok = (
                isinstance(body, dict)
                and isinstance(body.get("error"), dict)
                and {"message", "type", "param", "code"} <= set(body["error"])
            )
            if not ok:
                self.violations.append(f"{request.method} {path}: bad error body {body!r}")
            return
        if not path.startswith("/v1/") or "/x-orchestrator/" in path:
            return
        if path == "/v1/agents" or path.startswith("/v1/agents/"):
            self.checked += 1
            self.violations.extend(check_agent_body(request.method, path, body))
            return
        validator = response_validator(request.method, path, response.status_code)
        if validator is None:
            self.violations.append(
                f"{request.method} {path} {response.status_code}: not in the spec"
            )
            return
        self.checked += 1
        for problem in _errors(validator, body):
            self.violations.append(f"{request.method} {path}: {problem}")

    def check_stream_text(self, text: str) -> list[dict[str, Any]]:
        """Parse raw SSE text strictly (``event:``/``data:`` pairs) and check each event."""
        events = []
        for block in text.split("\n\n"):
            if not block.strip():
                continue
            lines = block.split("\n")
            if (
                len(lines) != 2
                or not lines[0].startswith("event: ")
                or not lines[1].startswith("data: ")
            ):
                self.violations.append(f"SSE block not framed as event:/data: {block!r}")
                continue
            name, raw = lines[0][7:], lines[1][6:]
            data = raw if name == "done" else json.loads(raw)
            self.violations.extend(check_sse_event(name, data))
            events.append({"event": name, "data": data})
        return events
