"""Property-based fuzzing of the whole API surface with schemathesis.

Requests are generated from OpenAI's own request schemas (the spec subset the server
serves), valid and invalid alike. Whatever comes in, the server must never answer with
a 5xx, and every 2xx body must validate against the spec's response schema (with the
server's documented known deviations, see ``orchestrator.server.wire``). Error statuses
the spec does not list (400, 404, ...) are expected: OpenAI's spec documents only
successes. A streamed 2xx is checked event by event with the same rules as the wire
tests (:mod:`tests.support.wire_check`), not a second rule set.
"""

from __future__ import annotations

import copy
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from orchestrator.server import wire
from tests.support import API_KEY
from tests.support.wire_check import SpecChecker

# Request bodies that are unions of every input item and tool type. Generating invalid
# ones (schemathesis mutates the schema) takes seconds each and the coverage phase (every
# union member's boundary values) minutes per operation, so these get valid bodies only,
# fewer of them, in the fuzzing phase: what reaches the engine is what these test (the
# request validator in front of it is fuzzed with invalid bodies on every other operation).
_BIG_UNIONS = "^/(responses|responses/input_tokens|conversations|conversations/[^/]+/items)$"
_EXAMPLES = int(os.environ.get("ORCHESTRATOR_FUZZ_EXAMPLES", "8"))

# Valid turns, so every run checks a 2xx Response body and a streamed one, whatever the
# generator happens to produce (its bodies mostly name objects that do not exist).
_RESPONSE_EXAMPLES = {
    "plain": {"value": {"model": "local", "input": "Hello", "metadata": {"k": "v"}}},
    "streamed": {"value": {"model": "local", "input": "Hello", "stream": True}},
}


def _schema() -> schemathesis.schemas.BaseSchema:
    doc = copy.deepcopy(wire.spec())
    doc["components"]["securitySchemes"] = {"ApiKeyAuth": {"type": "http", "scheme": "bearer"}}
    body = doc["paths"]["/responses"]["post"]["requestBody"]["content"]["application/json"]
    body["examples"] = _RESPONSE_EXAMPLES
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"max-examples": _EXAMPLES},
            "operations": [
                {
                    "include-path-regex": _BIG_UNIONS,
                    "phases": {
                        "coverage": {"enabled": False},
                        "fuzzing": {
                            "generation": {
                                "max-examples": max(1, _EXAMPLES // 2),
                                "mode": "positive",
                            }
                        },
                    },
                }
            ],
        }
    )
    # The chat completions endpoint is the local model's, covered by its own tests.
    # /responses/compact is not implemented: a documented 501 (README), not a fault.
    return schemathesis.openapi.from_dict(doc, config=config).exclude(
        path_regex="^/(chat(/|$)|responses/compact$)"
    )


schema = _schema()


@schema.parametrize()
@settings(
    # Derandomized: CI runs the same cases every time; raise
    # ORCHESTRATOR_FUZZ_EXAMPLES to hunt locally.
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_breaks_the_server(case, server) -> None:
    response = case.call(base_url=server.base_url, headers={"Authorization": f"Bearer {API_KEY}"})
    # schemathesis keeps every value of a header, lower-cased names.
    if any(v.startswith("text/event-stream") for v in response.headers.get("content-type", [])):
        case.validate_response(response, checks=(not_a_server_error,))
        checker = SpecChecker()
        events = checker.check_stream_text(response.text)
        assert events and not checker.violations, checker.violations[:5]
        return
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))


@pytest.fixture(autouse=True)
def _stays_up(server) -> None:
    yield
    assert server.proc is not None and server.proc.poll() is None, "the server died"
