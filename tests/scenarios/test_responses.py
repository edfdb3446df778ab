"""Scenarios over Responses (`api: openai`), against today's OpenAI played by our server
behind a proxy that answers the Assistants API with OpenAI's 404 (and fails the module
if anything called it).

The example project is applied on `api: openai` through the proxy (files, the vector
store, Responses profiles in the lock file); `orchestrator test` then plays its scenarios
on Conversations with each assistant's profile: function calls answered by the same
handlers, file search with citations, the code interpreter, several turns on one
Conversation, streamed and polled; cassettes recorded against "a real model" replay
offline on the local model.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.project.specs import Location, ScenarioSpec, TurnSpec
from orchestrator.scenarios import cassettes
from orchestrator.scenarios.results import ScenarioResult
from orchestrator.scenarios.runner import RunnerOptions, run_scenarios
from orchestrator.scripting import ScriptStep
from tests.support import API_KEY
from tests.support.proxy import FaultProxy, openai_today
from tests.support.scenarios import (
    chat_server_on_fake_upstream,
    make_project,
    new_namespace,
    run_test_command,
)


def _platform(base_url: str) -> Iterator[FaultProxy]:
    proxy = openai_today(base_url)
    try:
        yield proxy
    finally:
        proxy.stop()
    assert not proxy.retired_calls(), f"called retired endpoints: {proxy.retired_calls()}"


@pytest.fixture(scope="module")
def platform(server) -> Iterator[FaultProxy]:
    """The shared server as today's OpenAI (no Assistants API), for the whole module."""
    yield from _platform(server.base_url)


def openai_project(tmp: Path, scenarios: dict[str, str] | None = None, **kw: Any) -> Path:
    root = make_project(tmp, new_namespace(), scenarios, **kw)
    with (root / "orchestrator.yaml").open("a", encoding="utf-8") as f:
        f.write("target:\n  api: openai\n")
    return root


def apply(root: Path, base_url: str, api_key: str = API_KEY) -> None:
    env = {"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None, "ORCHESTRATOR_NAMESPACE": None}
    args = ["apply", "-C", str(root), "--base-url", base_url, "--api-key", api_key, "--yes"]
    r = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def project(platform: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project, applied on `api: openai` through the proxy."""
    root = openai_project(tmp_path_factory.mktemp("resp"))
    apply(root, platform.base_url)
    return root


def by_name(report: Path) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in json.loads(report.read_text(encoding="utf-8"))["scenarios"]}


def response_bodies(proxy: FaultProxy) -> list[dict[str, Any]]:
    return [
        json.loads(r.body)
        for r in proxy.log
        if r.method == "POST" and r.path.split("?")[0] == "/v1/responses"
    ]


@pytest.mark.parametrize("mode", ["stream", "poll"])
def test_the_example_scenarios_pass_over_responses(
    project: Path, platform: FaultProxy, tmp_path: Path, mode: str
) -> None:
    platform.reset()
    report = tmp_path / "r.json"
    args = ["--json", str(report), "--keep-threads", "--transcript", str(tmp_path / "t")]
    if mode == "poll":
        args.append("--poll")
    res = run_test_command(project, *args, base_url=platform.base_url, api_key=API_KEY)
    assert res.exit_code == 0, res.output
    assert "4 scenario runs: 4 passed" in res.output
    data = by_name(report)

    quiz = data["quiz feedback loop"]
    assert quiz["thread_id"].startswith("conv_") and quiz["assistant_id"] == "quiz-generator"
    (turn,) = quiz["turns"]
    calls = [c for s in turn["steps"] for c in s["tool_calls"] if c["type"] == "function"]
    (call,) = calls
    # Answered by scenarios/handlers/quiz.py, and the model replied after the output.
    assert call["name"] == "display_quiz" and call["output_source"] == "handler"
    assert json.loads(call["output"]) == ["a", "I don't know."]
    assert turn["steps"][-1]["type"] == "message_creation" and turn["run_id"].startswith("resp_")
    assert turn["usage"]["prompt_tokens"] > 0 and turn["usage"]["total_tokens"] > 0

    search = data["file search answers with a citation"]["turns"][0]
    (fs,) = [c for s in search["steps"] for c in s["tool_calls"]]
    assert fs["type"] == "file_search" and fs["arguments"]["queries"]
    assert "geometry-notes.md" in {r["file_name"] for r in fs["results"]}
    assert [c["filename"] for c in search["citations"]] == ["geometry-notes.md"]

    code = data["code interpreter solves an equation"]["turns"][0]
    (ci,) = [c for s in code["steps"] for c in s["tool_calls"]]
    assert ci["type"] == "code_interpreter" and "x = 1.0" in ci["output"]

    # Three turns on one Conversation: the model saw each earlier turn.
    tutor = data["math tutor conversation"]
    client = openai.OpenAI(base_url=platform.base_url, api_key=API_KEY)
    items = client.conversations.items.list(tutor["thread_id"], order="asc", limit=100).data
    roles = [i.role for i in items if i.type == "message"]
    assert roles == ["user", "assistant"] * 3
    assert [t["user"] for t in tutor["turns"]] == [
        i.content[0].text for i in items if i.type == "message" and i.role == "user"
    ]

    bodies = response_bodies(platform)
    # Each scenario turn and the quiz's function output: one response each.
    assert len(bodies) == 7
    if mode == "poll":
        assert all(b.get("background") is True and "stream" not in b for b in bodies)
    else:
        assert all(b.get("stream") is True and "background" not in b for b in bodies)
    quiz_bodies = [b for b in bodies if b["conversation"] == quiz["thread_id"]]
    assert quiz_bodies[1]["input"] == [
        {"type": "function_call_output", "call_id": call["id"], "output": call["output"]}
    ]
    # The profile as the lock file has it, plus what the record needs shown.
    (lock,) = project.glob("assistants.*.lock.json")
    profile = json.loads(lock.read_text(encoding="utf-8"))["profiles"]["quiz-generator"]
    sent = {k: v for k, v in quiz_bodies[0].items() if k in profile["request"]}
    assert sent == profile["request"]
    assert quiz_bodies[0]["include"] == ["file_search_call.results"]
    transcript = (tmp_path / "t" / "file-search-answers-with-a-citation.md").read_text("utf-8")
    assert "Citations: geometry-notes.md" in transcript


@pytest.fixture(scope="module")
def recorded(server_factory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example project recorded over Responses against "a real model" (a chat server
    on a scripted upstream, behind today's-OpenAI proxy): its root."""
    root = openai_project(tmp_path_factory.mktemp("rec"))
    with chat_server_on_fake_upstream(server_factory) as chat:
        for proxy in _platform(chat.base_url):
            apply(root, proxy.base_url, chat.api_key)
            res = run_test_command(root, "--record", base_url=proxy.base_url, api_key=chat.api_key)
            assert res.exit_code == 0, res.output
            assert res.output.count("[recorded ") == 4, res.output
    yield root


def test_cassettes_recorded_over_responses_replay_offline(
    recorded: Path, platform: FaultProxy, tmp_path: Path
) -> None:
    quiz = yaml.safe_load(
        (recorded / "scenarios" / "quiz-feedback.cassette.yaml").read_text(encoding="utf-8")
    )
    (call,), reply = quiz["turns"][0]["steps"][0]["tool_calls"], quiz["turns"][0]["steps"][1]
    assert call["name"] == "display_quiz"
    assert call["arguments"]["title"] == "Right triangles (upstream)"
    assert reply["reply"].startswith("Upstream feedback on the tool output:")
    fs = yaml.safe_load(
        (recorded / "scenarios" / "file-search-citation.cassette.yaml").read_text("utf-8")
    )
    # Responses shows the query the model searched with: the cassette keeps it.
    (search,) = fs["turns"][0]["steps"][0]["tool_calls"]
    assert search == {"type": "file_search", "query": "hypotenuse Pythagorean theorem"}

    # Offline: the local model of the shared server follows the cassettes.
    apply(recorded, platform.base_url)
    report = tmp_path / "r.json"
    res = run_test_command(
        recorded, "--replay", "--json", str(report), base_url=platform.base_url, api_key=API_KEY
    )
    assert res.exit_code == 0, res.output
    assert res.output.count("[replayed]") == 4, res.output
    data = by_name(report)
    replies = [t["reply"] for s in data.values() for t in s["turns"]]
    assert all(r.startswith("Upstream") for r in replies), replies
    search_turn = data["file search answers with a citation"]["turns"][0]
    assert [c["filename"] for c in search_turn["citations"]] == ["geometry-notes.md"]
    # Live again: the local model's own words.
    live = run_test_command(
        recorded, "--live", "-k", "math tutor", "--json", str(report),
        base_url=platform.base_url, api_key=API_KEY,
    )  # fmt: skip
    assert live.exit_code == 0 and "[replayed]" not in live.output
    assert by_name(report)["math tutor conversation"]["turns"][0]["reply"].startswith(
        "[local model]"
    )


# --- failures, on the runner's library interface ------------------------------------


def spec(
    tmp: Path,
    turns: list[tuple[str, dict[str, Any], float | None]],
    *,
    assistant: str = "quiz-generator",
    handlers: str | None = None,
) -> ScenarioSpec:
    src = tmp / "s.yaml"
    src.write_text("kind: Scenario\n", encoding="utf-8")
    paths = []
    if handlers is not None:
        paths.append(tmp / "s_handlers.py")
        paths[0].write_text(
            "from orchestrator import handler\n" + textwrap.dedent(handlers), encoding="utf-8"
        )
    return ScenarioSpec(
        name="s",
        source=Location(src, 1, 1),
        assistant=assistant,
        turns=[
            TurnSpec(user=u, source=Location(src, 3 + i, 5), expect=e, timeout=t)
            for i, (u, e, t) in enumerate(turns)
        ],
        handlers=paths,
    )


def play(
    project: Path, platform: FaultProxy, scenario: ScenarioSpec, **opts: Any
) -> ScenarioResult:
    client = openai.OpenAI(base_url=platform.base_url, api_key=API_KEY)
    namespace = yaml.safe_load((project / "orchestrator.yaml").read_text("utf-8"))["namespace"]
    options = RunnerOptions(
        namespace=namespace, keep_threads=True, api="openai", embedded=False, **opts
    )
    (result,) = run_scenarios([scenario], client, options, root=project).results
    return result


def open_calls(platform: FaultProxy, conversation: str) -> list[str]:
    """Function calls in the Conversation that have no output."""
    client = openai.OpenAI(base_url=platform.base_url, api_key=API_KEY)
    items = client.conversations.items.list(conversation, limit=100).data
    answered = {i.call_id for i in items if i.type == "function_call_output"}
    return [i.call_id for i in items if i.type == "function_call" and i.call_id not in answered]


@pytest.mark.parametrize("stream", [True, False])
def test_a_turn_may_end_at_requires_action_and_the_conversation_goes_on(
    project: Path, platform: FaultProxy, tmp_path: Path, stream: bool
) -> None:
    expect = {
        "status": "requires_action",
        "tool_calls": [{"display_quiz": {"title": {"any": True}}}],
    }
    scenario = spec(tmp_path, [("Use display_quiz.", expect, None), ("thanks", {}, None)])
    r = play(project, platform, scenario, stream=stream)
    assert r.outcome == "passed", [p.render() for p in r.problems()]
    first, second = r.turns
    assert first.status == "requires_action" and first.function_calls[0].output is None
    # The unanswered calls left the Conversation (as a cancelled run's): turn 2 went on.
    assert second.status == "completed" and second.reply
    assert open_calls(platform, r.thread_id) == []


def test_a_failing_handler_fails_the_turn_and_leaves_no_call_open(
    project: Path, platform: FaultProxy, tmp_path: Path
) -> None:
    scenario = spec(
        tmp_path,
        [("Use display_quiz now.", {}, None), ("never played", {}, None)],
        handlers="""
        @handler("display_quiz")
        def display_quiz(title, questions):
            raise RuntimeError("the student left")
        """,
    )
    r = play(project, platform, scenario)
    (p,) = r.failures
    assert p.kind == "handler" and "the student left" in p.details
    assert p.message.endswith("the run was cancelled (status: cancelled)")
    assert r.notes == ["stopped after turn 1; 1 later turn(s) not played"]
    assert open_calls(platform, r.thread_id) == []


def test_a_turn_timeout_in_a_handler_says_the_response_had_ended(
    project: Path, platform: FaultProxy, tmp_path: Path
) -> None:
    scenario = spec(
        tmp_path,
        [("Use display_quiz now.", {}, 0.5)],
        handlers="""
        import asyncio

        @handler("display_quiz")
        async def display_quiz(title, questions):
            await asyncio.sleep(30)
        """,
    )
    r = play(project, platform, scenario)
    (p,) = r.failures
    assert p.kind == "timeout" and p.message.startswith("timed out after 0.5 s; run resp_")
    assert p.message.endswith("had ended (completed)") and "call: display_quiz(" in p.details


def test_a_polled_turn_that_times_out_is_cancelled_on_the_server(
    project: Path, platform: FaultProxy, tmp_path: Path
) -> None:
    user = "Run this:\n\n```python\nimport time\ntime.sleep(20)\nprint('late')\n```\n"
    scenario = spec(tmp_path, [(user, {}, 1.0)], assistant="math-tutor-code")
    r = play(project, platform, scenario, stream=False)
    (p,) = r.failures
    assert p.kind == "timeout", p.render()
    assert "was cancelled (final status: cancelled)" in p.message
    client = openai.OpenAI(base_url=platform.base_url, api_key=API_KEY)
    assert client.responses.retrieve(r.turns[0].run_id).status == "cancelled"


def test_a_model_that_keeps_calling_functions_is_stopped(
    project: Path, platform: FaultProxy, tmp_path: Path
) -> None:
    scenario = spec(
        tmp_path,
        [("Quiz me forever.", {}, None)],
        handlers="""
        @handler("display_quiz")
        def display_quiz(title, questions):
            return ["a"]
        """,
    )
    call = {
        "type": "function",
        "name": "display_quiz",
        "arguments": {"title": "T", "questions": []},
    }
    cassette = {
        "kind": "Cassette",
        "version": 1,
        "turns": [{"user": "Quiz me forever.", "steps": [{"tool_calls": [call]}] * 9}],
    }
    (tmp_path / "s.cassette.yaml").write_text(yaml.safe_dump(cassette), encoding="utf-8")
    r = play(project, platform, scenario, cassettes="replay")
    (p,) = r.failures
    assert p.kind == "handler"
    assert p.message.startswith("the model was still calling functions after 8 rounds")
    assert len(r.turns[0].function_calls) == 8 and open_calls(platform, r.thread_id) == []


def test_an_assistant_without_a_profile_is_an_error(
    project: Path, platform: FaultProxy, tmp_path: Path
) -> None:
    r = play(project, platform, spec(tmp_path, [("hi", {}, None)], assistant="nobody"))
    assert r.outcome == "error" and r.error is not None
    assert "assistant 'nobody' has no Responses profile" in r.error.message
    assert "has no profile 'nobody' (it has: math-tutor, math-tutor-code, quiz-generator)" in (
        r.error.message
    )


# --- one scenario file, both APIs ----------------------------------------------------

BOTH = """\
    kind: Scenario
    name: both apis
    assistant: quiz-generator
    handlers: [handlers/quiz.py]
    turns:
      - user: What do the course notes say about the hypotenuse?
        expect:
          steps: {file_search: true}
          citations: {file: geometry-notes.md}
          reply: {contains: hypotenuse}
      - user: Use display_quiz to quiz me on right triangles, then give me feedback.
        expect:
          tool_calls:
            - display_quiz: {title: {matches: ".+"}}
          reply: {contains_any: ["feedback", "I don't know"]}
      - user: Use display_quiz once more.
        expect:
          status: requires_action
          tool_calls: [display_quiz]
      - user: Thanks, that is all.
        expect:
          steps: {count: 2, file_search: true}
          tool_calls: {not: [display_quiz]}
    """


def _shape(turn: dict[str, Any]) -> dict[str, Any]:
    """What a turn did, without the ids and timings of the API it ran on."""
    return {
        "status": turn["status"],
        "steps": [
            (s["type"], [(c["type"], c["name"], c["output"]) for c in s["tool_calls"]])
            for s in turn["steps"]
        ],
        # The servers number citation markers per run (Assistants) or per conversation's
        # searches (Responses): the file named is what counts.
        "reply": re.sub(r"【\d+:\d+†", "【", turn["reply"]),
        "cited": [c["filename"] for c in turn["citations"]],
    }


def test_one_scenario_file_passes_on_both_apis(
    server, platform: FaultProxy, tmp_path: Path
) -> None:
    root = make_project(tmp_path, new_namespace(), {"both.yaml": BOTH}, examples=False)
    config = root / "orchestrator.yaml"
    config.write_text(
        "\n".join(ln for ln in config.read_text("utf-8").splitlines() if "namespace" not in ln),
        encoding="utf-8",
    )
    reports = {}
    for api, base_url in (("assistants", server.base_url), ("openai", platform.base_url)):
        ns = ["-n", f"{api}-{tmp_path.name[-10:]}", "--api", api]
        env = {"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None, "ORCHESTRATOR_NAMESPACE": None}
        args = ["apply", "-C", str(root), "--base-url", base_url, "--api-key", API_KEY, "--yes"]
        applied = CliRunner().invoke(cli, [*args, *ns], env=env, catch_exceptions=False)
        assert applied.exit_code == 0, applied.output
        reports[api] = tmp_path / f"{api}.json"
        res = run_test_command(
            root, *ns, "--json", str(reports[api]), base_url=base_url, api_key=API_KEY
        )
        assert res.exit_code == 0, res.output
    runs = {api: by_name(path)["both apis"] for api, path in reports.items()}
    assert runs["assistants"]["thread_id"].startswith("thread_")
    assert runs["openai"]["thread_id"].startswith("conv_")
    # The same conversation, step for step, on threads and runs and on Responses.
    shapes = {api: [_shape(t) for t in r["turns"]] for api, r in runs.items()}
    assert shapes["openai"] == shapes["assistants"]


def test_calls_made_together_are_one_step_answered_in_one_request(
    project: Path, platform: FaultProxy, tmp_path: Path
) -> None:
    scenario = spec(
        tmp_path,
        [("Two quizzes at once.", {"steps": {"count": 2}}, None)],
        handlers="""
        @handler("display_quiz")
        def display_quiz(title, questions):
            return [title]
        """,
    )
    calls = [
        {"type": "function", "name": "display_quiz", "arguments": {"title": t, "questions": []}}
        for t in ("A", "B")
    ]
    steps = [{"tool_calls": calls}, {"reply": "Both shown."}]
    cassette = {"kind": "Cassette", "version": 1, "turns": [{"steps": steps}]}
    (tmp_path / "s.cassette.yaml").write_text(yaml.safe_dump(cassette), encoding="utf-8")
    platform.reset()
    r = play(project, platform, scenario, cassettes="replay")
    assert r.outcome == "passed", [p.render() for p in r.problems()]
    (turn,) = r.turns
    assert [s.type for s in turn.steps] == ["tool_calls", "message_creation"]
    assert [c.output for c in turn.steps[0].tool_calls] == ['["A"]', '["B"]']
    bodies = response_bodies(platform)
    assert len(bodies) == 2
    assert [i["output"] for i in bodies[1]["input"]] == ['["A"]', '["B"]']
    # Recorded again, the cassette holds the same two steps.
    assert cassettes.steps_of_turn(turn) == [ScriptStep.model_validate(s) for s in steps]
