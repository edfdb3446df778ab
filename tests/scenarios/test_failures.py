"""Every way a scenario can go wrong gives a clear failure or error — never a hang or a
traceback — and a run that cannot go on is cancelled on the server.

Scenarios are built as typed specs (the runner's library interface) and run against a
real server process with the real SDK; the invalid-arguments case needs a model that
produces them, so it runs on a ``--model-provider chat`` server whose upstream is a
scripted stand-in for a real model.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import openai
import pytest

from orchestrator.cli.views.scenarios import LineReporter
from orchestrator.ownership import KEY_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, NAMESPACE_KEY
from orchestrator.project.specs import Location, ScenarioSpec, TurnSpec
from orchestrator.scenarios.results import RunReport
from orchestrator.scenarios.runner import RunnerOptions, run_scenarios
from orchestrator.testing import free_port
from tests.support.scenarios import (
    CuttingProxy,
    chat_server_on_fake_upstream,
    new_namespace,
)
from tests.support.tool_defs import QUIZ_TOOL

LOOKUP = {
    "name": "lookup",
    "description": "Look a word up.",
    "parameters": {
        "type": "object",
        "properties": {"word": {"type": "string"}},
        "required": ["word"],
        "additionalProperties": False,
    },
}


def create_assistant(client: openai.OpenAI, namespace: str, key: str, tools: list[dict]) -> str:
    return client.beta.assistants.create(
        model="gpt-4o",
        name=key,
        tools=tools,
        metadata={MANAGED_BY_KEY: MANAGED_BY_VALUE, NAMESPACE_KEY: namespace, KEY_KEY: key},
    ).id


@pytest.fixture(scope="module")
def ns(server) -> str:
    namespace = new_namespace()
    client = server.client()
    create_assistant(
        client,
        namespace,
        "quiz",
        [QUIZ_TOOL, {"type": "function", "function": LOOKUP}],
    )
    create_assistant(client, namespace, "plain", [])
    return namespace


def scenario(
    tmp_path: Path,
    turns: list[tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], float]],
    *,
    assistant: str = "quiz",
    handlers: str | None = None,
    mocks: dict[str, Any] | None = None,
    timeout: float | None = None,
    name: str = "s",
) -> ScenarioSpec:
    src = tmp_path / f"{name}.yaml"
    src.write_text("kind: Scenario\n", encoding="utf-8")
    paths = []
    if handlers is not None:
        h = tmp_path / f"{name}_handlers.py"
        h.write_text(
            "from orchestrator import handler\n" + textwrap.dedent(handlers), encoding="utf-8"
        )
        paths.append(h)
    return ScenarioSpec(
        name=name,
        source=Location(src, 1, 1),
        assistant=assistant,
        turns=[
            TurnSpec(
                user=t[0],
                source=Location(src, 3 + i, 5),
                expect=t[1],
                timeout=t[2] if len(t) > 2 else None,  # type: ignore[misc]
            )
            for i, t in enumerate(turns)
        ],
        handlers=paths,
        mocks=mocks or {},
        timeout=timeout,
    )


def run(
    server, ns: str, *specs: ScenarioSpec, base_url: str | None = None, **opts: Any
) -> RunReport:
    client = openai.OpenAI(base_url=base_url or server.base_url, api_key=server.api_key)
    options = RunnerOptions(namespace=ns, keep_threads=True, **opts)
    return run_scenarios(
        list(specs), client, options, reporter=LineReporter(open("/dev/null", "w"))
    )


def run_status(server, thread_id: str, run_id: str) -> str:
    return server.client().beta.threads.runs.retrieve(run_id, thread_id=thread_id).status


def test_missing_handler_fails_and_cancels_the_run(server, ns: str, tmp_path: Path) -> None:
    spec = scenario(tmp_path, [("Use display_quiz to quiz me on triangles.", {})])
    report = run(server, ns, spec)
    (r,) = report.results
    assert r.outcome == "failed" and report.exit_code == 1
    (p,) = r.failures
    assert p.kind == "handler" and p.turn == 0
    assert "no handler for function 'display_quiz'" in p.message
    assert "the run was cancelled (status: cancelled)" in p.message
    assert "tool: display_quiz" in p.details and '"title"' in p.details  # the arguments
    assert "user: Use display_quiz" in p.details  # the turn's transcript
    assert run_status(server, r.thread_id, r.turns[0].run_id) == "cancelled"


def test_handler_exception_shows_its_traceback(server, ns: str, tmp_path: Path) -> None:
    spec = scenario(
        tmp_path,
        [("Use display_quiz about circles.", {})],
        handlers="""
        def grade(questions):
            return [q["missing_key"] for q in questions]

        @handler("display_quiz")
        def display_quiz(title, questions):
            return grade(questions)
        """,
    )
    (r,) = run(server, ns, spec).results
    (p,) = r.failures
    assert p.kind == "handler"
    assert "raised KeyError: 'missing_key'" in p.message
    assert "s_handlers.py" in p.details and "in grade" in p.details
    assert "Traceback (most recent call last)" in p.details
    assert run_status(server, r.thread_id, r.turns[0].run_id) == "cancelled"


def test_module_that_does_not_import_is_an_error(server, ns: str, tmp_path: Path) -> None:
    spec = scenario(tmp_path, [("hi", {})], handlers="import not_a_module_anywhere\n")
    report = run(server, ns, spec)
    (r,) = report.results
    assert r.outcome == "error" and report.exit_code == 2
    assert "ModuleNotFoundError" in r.error.message and r.thread_id is None


def test_mock_answers_and_parallel_calls_go_in_one_submission(
    server, ns: str, tmp_path: Path
) -> None:
    spec = scenario(
        tmp_path,
        [
            (
                "Use display_quiz and lookup for the word triangle.",
                {
                    "tool_calls": {
                        "calls": ["display_quiz", {"lookup": {"word": {"any": True}}}],
                        "count": {"lookup": 1},
                    }
                },
            )
        ],
        handlers="""
        @handler("display_quiz")
        async def display_quiz(title, questions, context):
            return {"answers": ["a"] * len(questions), "thread": context.thread_id}
        """,
        mocks={"lookup": {"definition": "a three-sided polygon"}},
    )
    (r,) = run(server, ns, spec).results
    assert r.outcome == "passed", [p.render() for p in r.problems()]
    calls = r.turns[0].function_calls
    assert {c.name: c.output_source for c in calls} == {"display_quiz": "handler", "lookup": "mock"}
    assert (
        json.loads(next(c.output for c in calls if c.name == "display_quiz"))["thread"]
        == r.thread_id
    )
    # One tool_calls step holding both calls: they were submitted together.
    steps = server.client().beta.threads.runs.steps.list(r.turns[0].run_id, thread_id=r.thread_id)
    tool_steps = [s for s in steps.data if s.type == "tool_calls"]
    assert len(tool_steps) == 1 and len(tool_steps[0].step_details.tool_calls) == 2
    assert all(tc.function.output for tc in tool_steps[0].step_details.tool_calls)


def test_turn_timeout_cancels_the_run(server, ns: str, tmp_path: Path) -> None:
    spec = scenario(
        tmp_path,
        [("Use display_quiz now.", {}, 0.5), ("never played", {})],
        handlers="""
        import time

        @handler("display_quiz")
        def display_quiz(title, questions):
            time.sleep(5)
            return "too late"
        """,
    )
    (r,) = run(server, ns, spec).results
    (p,) = r.failures
    assert p.kind == "timeout" and p.turn == 0
    assert p.message.startswith("timed out after 0.5 s; run run_")
    assert "was cancelled (final status: cancelled)" in p.message
    assert "call: display_quiz(" in p.details
    assert r.notes == ["stopped after turn 1; 1 later turn(s) not played"]
    assert run_status(server, r.thread_id, r.turns[0].run_id) == "cancelled"


def test_scenario_timeout_counts_across_turns(server, ns: str, tmp_path: Path) -> None:
    spec = scenario(
        tmp_path,
        [("Use display_quiz.", {}), ("Use display_quiz again.", {})],
        handlers="""
        import asyncio

        @handler("display_quiz")
        async def display_quiz(title, questions):
            await asyncio.sleep(0.4)
            return "ok"
        """,
        timeout=0.6,
    )
    (r,) = run(server, ns, spec).results
    (p,) = r.failures
    assert p.kind == "timeout" and p.turn == 1
    assert "(the rest of the scenario's time limit)" in p.message


def test_expectation_failure_prints_expected_actual_and_transcript(
    server, ns: str, tmp_path: Path
) -> None:
    spec = scenario(
        tmp_path,
        [
            ("hello there", {"reply": {"contains": "bonjour"}, "tool_calls": ["lookup"]}),
            ("second", {}),
        ],
        assistant="plain",
    )
    (r,) = run(server, ns, spec).results
    assert r.outcome == "failed"
    (p,) = r.failures
    assert p.kind == "expectation" and "2 expectation(s) not met" in p.message
    assert (
        "tool_calls: expected calls (any order) [lookup(…)]\n    actual: lookup was not called"
        in p.details
    )
    assert 'reply.contains: expected the reply to contain "bonjour"' in p.details
    assert 'actual: "[local model] You said: hello there"' in p.details
    assert (
        "transcript:\n    user: hello there\n    assistant: [local model] You said: hello there"
        in p.details
    )
    assert len(r.turns) == 1  # stopped at the failing turn


def test_polling_mode_plays_tool_call_rounds(server, ns: str, tmp_path: Path) -> None:
    spec = scenario(
        tmp_path,
        [
            (
                "Use lookup for the word hypotenuse.",
                {"tool_calls": [{"lookup": {"word": {"matches": ".+"}}}]},
            )
        ],
        mocks={"lookup": "the longest side"},
    )
    (r,) = run(server, ns, spec, stream=False).results
    assert r.outcome == "passed", [p.render() for p in r.problems()]
    (call,) = r.turns[0].function_calls
    assert (call.output, call.output_source) == ("the longest side", "mock")
    assert "the longest side" in r.turns[0].reply


def test_assistant_never_applied_is_an_error(server, ns: str, tmp_path: Path) -> None:
    spec = scenario(tmp_path, [("hi", {})], assistant="nobody-applied-me")
    report = run(server, ns, spec)
    (r,) = report.results
    assert r.outcome == "error" and report.exit_code == 2
    assert "assistant 'nobody-applied-me'" in r.error.message
    assert "was never applied" in r.error.message and "orchestrator apply" in r.error.message
    assert str(spec.source) in r.error.message


def test_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    spec = scenario(tmp_path, [("hi", {})])
    report = run_scenarios([spec], client, RunnerOptions(), target=f"http://127.0.0.1:{port}/v1")
    assert report.exit_code == 2 and report.results == []
    (p,) = report.errors
    assert p.message.startswith(f"cannot reach the server at http://127.0.0.1:{port}/v1")


@pytest.fixture(scope="module")
def chat_server(server_factory):
    with chat_server_on_fake_upstream(server_factory) as srv:
        yield srv


def test_invalid_arguments_fail_with_the_schema_problems(chat_server, tmp_path: Path) -> None:
    namespace = new_namespace()
    create_assistant(chat_server.client(), namespace, "quiz", [QUIZ_TOOL])
    spec = scenario(
        tmp_path,
        [("BADARGS please", {})],
        handlers="""
        @handler("display_quiz")
        def display_quiz(title, questions):
            raise AssertionError("never called with bad arguments")
        """,
    )
    (r,) = run(chat_server, namespace, spec).results
    (p,) = r.failures
    assert p.kind == "handler"
    assert (
        "the assistant called display_quiz with arguments that do not match its JSON Schema"
        in p.message
    )
    assert "title: 42 is not of type 'string'" in p.details
    assert "'questions' is a required property" in p.details
    assert 'arguments: {"title": 42}' in p.details
    assert run_status(chat_server, r.thread_id, r.turns[0].run_id) == "cancelled"


def test_a_stream_that_breaks_off_is_an_error_and_the_run_is_stopped(
    server, ns: str, tmp_path: Path
) -> None:
    proxy = CuttingProxy(server.port)
    try:
        spec = scenario(tmp_path, [("hello", {}), ("never played", {})], assistant="plain")
        client = openai.OpenAI(base_url=proxy.base_url, api_key=server.api_key, max_retries=0)
        options = RunnerOptions(namespace=ns, keep_threads=True)
        report = run_scenarios([spec], client, options, target=proxy.base_url)
    finally:
        proxy.close()
    assert proxy.cuts == 1
    (r,) = report.results
    assert r.outcome == "error" and report.exit_code == 2
    assert r.error.turn == 0 and r.error.kind == "api"
    assert r.error.message.startswith(f"lost the connection to the server at {proxy.base_url}: ")
    assert f"; run {r.turns[0].run_id} ended " in r.error.message
    assert r.turns[0].run_id  # found on the thread, though its first event never arrived
    assert len(r.turns) == 1
    status = run_status(server, r.thread_id, r.turns[0].run_id)
    assert status in ("cancelled", "completed")  # never left running


def test_a_turn_may_expect_to_end_at_requires_action(server, ns: str, tmp_path: Path) -> None:
    """`status: requires_action`: the calls are checked, none is answered, the run is
    cancelled (no handler needed), and the scenario goes on."""
    expect = {
        "status": "requires_action",
        "tool_calls": [{"display_quiz": {"title": {"any": True}}}],
    }
    spec = scenario(tmp_path, [("Use display_quiz.", expect), ("thanks", {})])
    for stream in (True, False):
        (r,) = run(server, ns, spec, stream=stream).results
        assert r.outcome == "passed", [p.render() for p in r.problems()]
        first = r.turns[0]
        assert first.status == "requires_action"
        assert [c.name for c in first.function_calls] == ["display_quiz"]
        assert first.function_calls[0].output is None
        assert run_status(server, r.thread_id, first.run_id) == "cancelled"
