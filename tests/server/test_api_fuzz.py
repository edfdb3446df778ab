"""Property-based fuzzing of the whole API surface with schemathesis.

Requests are generated from OpenAI's own request schemas (the spec subset the server
serves), valid and invalid alike. Whatever comes in, the server must never answer with
a 5xx, and every 2xx body must validate against the spec's response schema (with the
server's documented known deviations, see ``orchestrator.server.wire``). Error statuses
the spec does not list (400, 404, ...) are expected: OpenAI's spec documents only
successes.
"""

from __future__ import annotations

import copy
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from orchestrator.server import wire
from tests.support import API_KEY


def _schema() -> schemathesis.schemas.BaseSchema:
    doc = copy.deepcopy(wire.spec())
    doc["components"]["securitySchemes"] = {"ApiKeyAuth": {"type": "http", "scheme": "bearer"}}
    # The chat completions endpoint is the local model's, covered by its own tests.
    # Responses and Conversations are not fuzzed yet: their request schemas (every input
    # item and tool union) take minutes per operation to generate from, and the fuzz's SSE
    # conformance check rejects response.created where tests/support/wire_check.py (which
    # knows the spec's documented quirks) accepts it. Their wire tests check every body.
    return schemathesis.openapi.from_dict(doc).exclude(
        path_regex="^/(chat|responses|conversations)(/|$)"
    )


schema = _schema()


@schema.parametrize()
@settings(
    # Derandomized: CI runs the same cases every time; raise the count to hunt locally.
    max_examples=int(os.environ.get("ORCHESTRATOR_FUZZ_EXAMPLES", "8")),
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_breaks_the_server(case, server) -> None:
    response = case.call(base_url=server.base_url, headers={"Authorization": f"Bearer {API_KEY}"})
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))


@pytest.fixture(autouse=True)
def _stays_up(server) -> None:
    yield
    assert server.proc is not None and server.proc.poll() is None, "the server died"
