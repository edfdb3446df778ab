"""The seed flows as scenarios, run by ``orchestrator test`` against a real server.

The example project's own scenarios (``scenarios/*.yaml``): the Math Tutor
conversation thanked at the end, the ``display_quiz`` quiz answered by a Python handler
with a feedback reply, a file-search question answered with a citation, and a
code-interpreter turn — streamed and polled — plus the reports they produce.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser
import pytest

from tests.support import API_KEY
from tests.support.scenarios import (
    apply_assistants,
    make_project,
    new_namespace,
    run_test_command,
)

SEED_SCENARIOS = {
    "math tutor conversation",
    "quiz feedback loop",
    "file search answers with a citation",
    "code interpreter solves an equation",
}


@pytest.fixture(scope="module")
def seed_project(server, tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("seed"), new_namespace())
    apply_assistants(server.client(), root)
    return root


@pytest.mark.parametrize("mode", ["stream", "poll"])
def test_seed_scenarios_pass(server, seed_project: Path, tmp_path: Path, mode: str) -> None:
    report = tmp_path / "report.json"
    args = ["--json", str(report), "--transcript", str(tmp_path / "t")]
    if mode == "poll":
        args.append("--poll")
    res = run_test_command(seed_project, *args, base_url=server.base_url, api_key=API_KEY)
    assert res.exit_code == 0, res.output
    data = json.loads(report.read_text(encoding="utf-8"))
    by_name = {s["name"]: s for s in data["scenarios"]}
    assert set(by_name) == SEED_SCENARIOS
    assert data["summary"] == {"total": 4, "passed": 4, "failed": 0, "errors": 0, "exit_code": 0}

    math = by_name["math tutor conversation"]["turns"]
    assert len(math) == 3 and math[-1]["user"].startswith("고마워")
    assert all(t["status"] == "completed" and t["reply"] for t in math)

    (quiz,) = by_name["quiz feedback loop"]["turns"]
    (call,) = [c for s in quiz["steps"] for c in s["tool_calls"]]
    assert call["name"] == "display_quiz" and call["output_source"] == "handler"
    # handlers/quiz.py answered as the student: "a" to multiple choice, "I don't know."
    # otherwise; its answers went back to the model, whose reply is about them.
    expected = [
        "a" if q.get("question_type") == "MULTIPLE_CHOICE" and q.get("choices") else "I don't know."
        for q in call["arguments"]["questions"]
    ]
    assert json.loads(call["output"]) == expected
    assert f"display_quiz returned: {call['output']}" in quiz["reply"]

    (fs,) = by_name["file search answers with a citation"]["turns"]
    assert any(c["filename"] == "geometry-notes.md" for c in fs["citations"])
    assert any(c["type"] == "file_search" for s in fs["steps"] for c in s["tool_calls"])

    (code,) = by_name["code interpreter solves an equation"]["turns"]
    (ci,) = [c for s in code["steps"] for c in s["tool_calls"]]
    assert ci["type"] == "code_interpreter" and "x = (14 - 11) / 3" in ci["code"]
    assert "x = 1.0" in ci["output"]

    # The summary table and a transcript per scenario.
    assert "4 scenario runs: 4 passed, 0 failed, 0 errors" in res.output
    transcripts = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert transcripts == [
        "code-interpreter-solves-an-equation.md",
        "file-search-answers-with-a-citation.md",
        "math-tutor-conversation.md",
        "quiz-feedback-loop.md",
    ]
    quiz_md = (tmp_path / "t" / "quiz-feedback-loop.md").read_text(encoding="utf-8")
    assert "**Function call** `display_quiz` (handler)" in quiz_md
    assert "- result: **passed**" in quiz_md


def test_junit_report_parses(server, seed_project: Path, tmp_path: Path) -> None:
    """Passing, failing and erroring scenarios in one JUnit file that a JUnit reader
    accepts: assertion failures as <failure>, runtime errors as <error>."""
    junit = tmp_path / "report.xml"
    broken = tmp_path / "broken"
    shutil.copytree(seed_project, broken)
    # One scenario fails: it expects something the local model does not say.
    path = broken / "scenarios" / "math-tutor.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('not_contains: "Traceback"', 'contains: "never said"'), encoding="utf-8"
    )
    # One cannot run: its handler module does not import.
    (broken / "scenarios" / "handlers" / "broken.py").write_text("import nowhere_to_be_found\n")
    (broken / "scenarios" / "errs.yaml").write_text(
        "kind: Scenario\nname: handler import error\nassistant: quiz-generator\n"
        "handlers: [handlers/broken.py]\nturns:\n  - user: hi\n",
        encoding="utf-8",
    )
    res = run_test_command(broken, "--junit", str(junit), base_url=server.base_url, api_key=API_KEY)
    assert res.exit_code == 2, res.output  # errors win over failures
    top = ET.parse(junit).getroot()
    assert top.tag == "testsuites"
    assert (top.get("tests"), top.get("failures"), top.get("errors")) == ("5", "1", "1")
    cases = top.findall("./testsuite/testcase")
    assert len(cases) == 5
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["math tutor conversation"]
    failure = failed[0].find("failure")
    assert failure.get("type") == "expectation"
    assert 'reply.contains: expected the reply to contain "never said"' in failure.text
    assert "transcript:" in failure.text and "나는 수학을 싫어해" in failure.text
    (errored,) = [c for c in cases if c.find("error") is not None]
    assert errored.get("name") == "handler import error"
    error = errored.find("error")
    assert error.get("type") == "setup" and "ModuleNotFoundError" in error.get("message")
    for suite in top.findall("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        float(suite.get("time"))
    xml = junitparser.JUnitXml.fromfile(str(junit))
    results = {case.name: case.result for suite in xml for case in suite}
    assert len(results) == 5
    assert isinstance(results["math tutor conversation"][0], junitparser.Failure)
    assert isinstance(results["handler import error"][0], junitparser.Error)
    assert all(
        not r
        for n, r in results.items()
        if n not in ("math tutor conversation", "handler import error")
    )


@pytest.mark.integration
def test_apply_then_test_on_the_embedded_target(tmp_path: Path) -> None:
    """The user's path: `orchestrator apply` writes the lock file, `orchestrator test`
    finds the assistants through it on the embedded server (state in .orchestrator/)."""
    from click.testing import CliRunner

    from orchestrator.cli import cli

    root = make_project(tmp_path, new_namespace())
    env = {"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None, "ORCHESTRATOR_NAMESPACE": None}
    # Before apply, playing what is there (--allow-drift: no sync): a clear error, exit 2.
    res = run_test_command(root, "-k", "math", "--allow-drift", base_url=None)
    assert res.exit_code == 2, res.output
    assert "assistant 'math-tutor'" in res.output and "orchestrator apply" in res.output
    applied = CliRunner().invoke(cli, ["apply", "-C", str(root), "--yes"], env=env)
    assert applied.exit_code == 0, applied.output
    (lock,) = root.glob("assistants*.lock.json")
    res = run_test_command(root, base_url=None)
    assert res.exit_code == 0, res.output
    assert "4 scenario runs: 4 passed" in res.output
    # A stale lock file (ids from elsewhere) is checked against the server, not trusted.
    data = json.loads(lock.read_text(encoding="utf-8"))
    for entry in data["assistants"].values():
        entry["id"] = "asst_" + "0" * 25
    lock.write_text(json.dumps(data), encoding="utf-8")
    res = run_test_command(root, "-k", "quiz", base_url=None)
    assert res.exit_code == 0, res.output
