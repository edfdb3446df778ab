"""Record / replay: a conversation recorded against "a real model" replays exactly,
offline, on the embedded server's local model — and a cassette that no longer fits
fails with a clear message.

The recording target is a ``--model-provider chat`` server whose upstream is a scripted
stand-in for a real model (it answers unlike the local model, so a replay that falls
back to the local model's own policy would show). Replay runs on the embedded target,
where cassettes are replayed by default.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from orchestrator.project.schema_check import load_schema
from tests.support.scenarios import (
    apply_assistants,
    apply_embedded,
    chat_server_on_fake_upstream,
    embedded_client,
    make_project,
    new_namespace,
    run_test_command,
)

CASSETTES = [
    "code-interpreter.cassette.yaml",
    "file-search-citation.cassette.yaml",
    "math-tutor.cassette.yaml",
    "quiz-feedback.cassette.yaml",
]


@pytest.fixture(scope="module")
def chat_server(server_factory):
    with chat_server_on_fake_upstream(server_factory) as srv:
        yield srv


@pytest.fixture(scope="module")
def recorded(chat_server, tmp_path_factory) -> tuple[Path, Path]:
    """The example project recorded against the chat server: (project root, transcripts)."""
    tmp = tmp_path_factory.mktemp("rec")
    root = make_project(tmp, new_namespace())
    apply_assistants(chat_server.client(), root)
    res = run_test_command(
        root,
        "--record",
        "--transcript",
        str(tmp / "recorded"),
        base_url=chat_server.base_url,
        api_key=chat_server.api_key,
    )
    assert res.exit_code == 0, res.output
    assert res.output.count("[recorded ") == 4, res.output
    apply_embedded(root)
    return root, tmp / "recorded"


def test_cassettes_are_written_next_to_scenarios_and_validate(recorded) -> None:
    root, _ = recorded
    scenarios = root / "scenarios"
    assert sorted(p.name for p in scenarios.glob("*.cassette.yaml")) == CASSETTES
    import jsonschema

    schema = load_schema("Cassette")
    for name in CASSETTES:
        text = (scenarios / name).read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server: $schema=../schemas/cassette.schema.json\n")
        data = yaml.safe_load(text)
        jsonschema.validate(data, schema)
        assert data["kind"] == "Cassette" and data["version"] == 1 and data["model"] == "gpt-4o"
    quiz = yaml.safe_load((scenarios / "quiz-feedback.cassette.yaml").read_text(encoding="utf-8"))
    assert quiz["scenario"] == "quiz feedback loop" and quiz["assistant"] == "quiz-generator"
    ((call,), reply) = quiz["turns"][0]["steps"][0]["tool_calls"], quiz["turns"][0]["steps"][1]
    assert call["type"] == "function" and call["name"] == "display_quiz"
    assert call["arguments"]["title"] == "Right triangles (upstream)"
    assert reply["reply"].startswith("Upstream feedback on the tool output:")
    code = yaml.safe_load(
        (scenarios / "code-interpreter.cassette.yaml").read_text(encoding="utf-8")
    )
    assert code["turns"][0]["steps"][0]["tool_calls"][0] == {
        "type": "code_interpreter",
        "code": 'x = (14 - 11) / 3\nprint(f"x = {x}")\n',
    }
    fs = yaml.safe_load(
        (scenarios / "file-search-citation.cassette.yaml").read_text(encoding="utf-8")
    )
    (search,) = fs["turns"][0]["steps"][0]["tool_calls"]
    # The API does not expose file-search queries: the user's message stands in.
    assert search == {"type": "file_search", "query": fs["turns"][0]["user"]}
    assert "【0:0†geometry-notes.md】" in fs["turns"][0]["steps"][1]["reply"]


def test_replay_on_the_embedded_server_gives_the_same_transcript(recorded, tmp_path: Path) -> None:
    root, rec = recorded
    report = tmp_path / "r.json"
    res = run_test_command(
        root, "--transcript", str(tmp_path / "t"), "--json", str(report), base_url=None
    )
    assert res.exit_code == 0, res.output
    assert res.output.count("[replayed]") == 4, res.output
    for name in sorted(p.name for p in rec.iterdir()):
        assert (tmp_path / "t" / name).read_text(encoding="utf-8") == (rec / name).read_text(
            encoding="utf-8"
        ), name
    data = json.loads(report.read_text(encoding="utf-8"))
    replies = [t["reply"] for s in data["scenarios"] for t in s["turns"]]
    assert all(r.startswith("Upstream") for r in replies), replies
    fs = next(s for s in data["scenarios"] if s["name"].startswith("file search"))
    # Citations are annotated again on replay, naming the same file.
    assert fs["turns"][0]["citations"][0]["filename"] == "geometry-notes.md"
    # --live ignores the cassettes: the local model answers with its own policy.
    live = run_test_command(
        root, "--live", "-k", "math tutor", "--json", str(report), base_url=None
    )
    assert live.exit_code == 0 and "[replayed]" not in live.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["scenarios"][0]["turns"][0]["reply"].startswith("[local model]")


def _edit_cassette(root: Path, name: str, edit) -> None:  # type: ignore[no-untyped-def]
    path = root / "scenarios" / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def copy(recorded, tmp_path: Path) -> Path:
    """A private copy of the recorded project (edited by a test)."""
    root, _ = recorded
    dst = tmp_path / "project"
    shutil.copytree(root, dst)
    return dst


def test_cassette_calling_a_function_the_assistant_lost(copy: Path) -> None:
    # The server's assistant lost display_quiz (e.g. applied from another branch): the
    # local model refuses the recorded call and the runner says the cassette is stale.
    with embedded_client(copy) as client:
        (quiz,) = [a for a in client.beta.assistants.list() if a.name == "Quiz Generator"]
        client.beta.assistants.update(quiz.id, tools=[{"type": "file_search"}])
    # --allow-drift: else `test` would apply the YAML first and put display_quiz back.
    res = run_test_command(copy, "-k", "quiz", "--allow-drift", base_url=None)
    assert res.exit_code == 1, res.output
    assert "FAIL  quiz feedback loop" in res.output
    assert "quiz-feedback.cassette.yaml no longer fits the assistant" in res.output
    assert "display_quiz" in res.output
    assert "re-record it with `orchestrator test --record` (or run with --live)" in res.output
    assert "Traceback" not in res.output


def test_a_stale_cassette_the_loader_sees_is_an_error(copy: Path) -> None:
    def rename(data):  # type: ignore[no-untyped-def]
        data["turns"][0]["steps"][0]["tool_calls"][0]["name"] = "show_quiz"

    _edit_cassette(copy, "quiz-feedback.cassette.yaml", rename)
    res = run_test_command(copy, "-k", "quiz", base_url=None)
    assert res.exit_code == 2, res.output
    assert "quiz-feedback.cassette.yaml:" in res.output and "show_quiz" in res.output


def test_cassette_arguments_that_no_longer_match_the_schema(copy: Path) -> None:
    def bad(data):  # type: ignore[no-untyped-def]
        data["turns"][0]["steps"][0]["tool_calls"][0]["arguments"] = {"title": 42}

    _edit_cassette(copy, "quiz-feedback.cassette.yaml", bad)
    res = run_test_command(copy, "-k", "quiz", base_url=None)
    assert res.exit_code == 1, res.output
    assert "no longer fits the assistant" in res.output and "display_quiz" in res.output


def test_cassette_for_another_conversation(copy: Path) -> None:
    path = copy / "scenarios" / "math-tutor.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("고마워! Thank you!", "Thanks a lot!"),
        encoding="utf-8",
    )
    res = run_test_command(copy, "-k", "math", base_url=None)
    assert res.exit_code == 1, res.output
    assert "turn 3 was recorded for the user message '고마워! Thank you!'" in res.output
    assert "'Thanks a lot!'" in res.output
    # --replay with no cassette at all says where it looked.
    (copy / "scenarios" / "math-tutor.cassette.yaml").unlink()
    res = run_test_command(copy, "--replay", "-k", "math", base_url=None)
    assert res.exit_code == 1 and "no cassette for scenario 'math tutor conversation'" in res.output


def test_a_hand_written_cassette_with_two_tool_rounds(copy: Path) -> None:
    """A run that needs two submit_tool_outputs rounds, then a plain recorded reply."""
    (copy / "scenarios" / "rounds.yaml").write_text(
        textwrap.dedent(
            """\
            kind: Scenario
            name: two rounds
            assistant: quiz-generator
            handlers: [handlers/quiz.py]
            turns:
              - user: Quiz me twice.
                expect:
                  tool_calls: {calls: [display_quiz, display_quiz], order: exact}
                  steps: {count: 3}
                  reply: {contains: "second round done"}
              - user: And now just answer.
                expect:
                  steps: {count: 1}
                  reply: {matches: "^Recorded answer"}
            """
        ),
        encoding="utf-8",
    )
    quiz = {
        "title": "T",
        "questions": [{"question_text": "q?", "question_type": "FREE_RESPONSE", "choices": []}],
    }
    cassette = {
        "kind": "Cassette",
        "version": 1,
        "turns": [
            {
                "steps": [
                    {
                        "tool_calls": [
                            {"type": "function", "name": "display_quiz", "arguments": quiz}
                        ]
                    },
                    {
                        "tool_calls": [
                            {"type": "function", "name": "display_quiz", "arguments": quiz}
                        ]
                    },
                    {"reply": "second round done"},
                ]
            },
            {"steps": [{"reply": "Recorded answer, not the local model's."}]},
        ],
    }
    (copy / "scenarios" / "rounds.cassette.yaml").write_text(
        yaml.safe_dump(cassette), encoding="utf-8"
    )
    res = run_test_command(copy, "-k", "two rounds", "--json", str(copy / "r.json"), base_url=None)
    assert res.exit_code == 0, res.output
    data = json.loads((copy / "r.json").read_text(encoding="utf-8"))
    first, second = data["scenarios"][0]["turns"]
    calls = [c for s in first["steps"] for c in s["tool_calls"]]
    assert [c["output_source"] for c in calls] == ["handler", "handler"]
    assert first["run_id"] and len({s["id"] for s in first["steps"]}) == 3  # one run, 3 steps
    assert second["reply"] == "Recorded answer, not the local model's."
