"""The pytest plugin: scenario files become test items when enabled, pass/fail/error are
reported as pytest reports them, and it stays inert otherwise (checked with pytester)."""

from __future__ import annotations

import importlib
import shutil
import textwrap
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from tests.support import API_KEY, ROOT
from tests.support.proxy import FaultProxy
from tests.support.scenarios import apply_assistants, apply_embedded, new_namespace

pytest_plugins = ["pytester"]

# pytester's in-process runs drop the modules first imported inside them; importing the
# SDK's resource modules (seconds of work) once here keeps each run quick.
for _client in (openai.OpenAI(api_key="x"), openai.AsyncOpenAI(api_key="x")):
    _ = (_client.beta.assistants, _client.beta.threads.runs.steps, _client.beta.threads.messages)
    _ = (_client.vector_stores.file_batches, _client.files)
importlib.import_module("orchestrator.scenarios.runner")

SCENARIOS = {
    "pass.yaml": """\
        kind: Scenario
        name: quiz passes
        assistant: quiz-generator
        handlers: [handlers/quiz.py]
        tags: [smoke]
        turns:
          - user: Use display_quiz to quiz me.
            expect:
              tool_calls: [display_quiz]
        """,
    "fail.yaml": """\
        kind: Scenario
        name: tutor fails
        assistant: math-tutor
        turns:
          - user: What is 2 + 2?
            expect:
              reply: {contains: "the answer is 4"}
        """,
    "unapplied.yaml": """\
        kind: Scenario
        name: never applied
        assistant: math-tutor-code
        turns:
          - user: hi
        """,
    "broken.yaml": """\
        kind: Scenario
        name: broken
        assistant: math-tutor
        turns:
          - usr: hi
        """,
    "not-a-scenario.yaml": "kind: Something\nname: x\n",
}


@pytest.fixture
def project(pytester: pytest.Pytester, server, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = pytester.path
    ns = new_namespace()
    (root / "orchestrator.yaml").write_text(
        f"kind: Project\nnamespace: {ns}\ndefaults:\n  model: gpt-4o\n", encoding="utf-8"
    )
    shutil.copytree(ROOT / "assistants", root / "assistants")
    (root / "scenarios" / "handlers").mkdir(parents=True)
    shutil.copy(ROOT / "scenarios/handlers/quiz.py", root / "scenarios/handlers/quiz.py")
    apply_assistants(server.client(), root, ["quiz-generator", "math-tutor"])
    for name, text in SCENARIOS.items():
        (root / "scenarios" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return root


def test_pass_fail_and_error(pytester: pytest.Pytester, project: Path, server) -> None:
    # A file that does not load is a collection error: pytest stops there unless told
    # to go on, as with a Python test module that does not import.
    result = pytester.runpytest(
        "--scenarios",
        "--scenarios-base-url",
        server.base_url,
        "--continue-on-collection-errors",
        "scenarios",
    )
    assert result.parseoutcomes() == {"passed": 1, "failed": 1, "errors": 2}
    out = result.stdout.str()
    # The failure shows expected vs actual, without a Python traceback of the runner.
    assert 'reply.contains: expected the reply to contain "the answer is 4"' in out
    assert 'actual: "[local model] You said: What is 2 + 2?"' in out
    assert "orchestrator/scenarios/runner.py" not in out
    # Errors: the assistant that was never applied (setup) and the file that does not load.
    assert "assistant 'math-tutor-code'" in out and "was never applied" in out
    assert "scenario file" in out and "broken.yaml" in out and "usr" in out


def test_selection_by_keyword_and_tag_marker(
    pytester: pytest.Pytester, project: Path, server
) -> None:
    result = pytester.runpytest(
        "--scenarios",
        "--scenarios-base-url",
        server.base_url,
        "-m",
        "smoke",
        "scenarios/pass.yaml",
        "-v",
    )
    assert result.ret == pytest.ExitCode.OK
    assert result.parseoutcomes() == {"passed": 1}
    assert "scenarios/pass.yaml::quiz passes PASSED" in result.stdout.str()


def test_ini_option_enables_it(pytester: pytest.Pytester, project: Path, server) -> None:
    pytester.makeini("[pytest]\norchestrator_scenarios = true\n")
    result = pytester.runpytest("--scenarios-base-url", server.base_url, "scenarios/fail.yaml")
    # Collected and run without --scenarios: the ini option switched the plugin on.
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes() == {"failed": 1}
    assert 'expected the reply to contain "the answer is 4"' in result.stdout.str()


def test_inert_when_not_enabled(pytester: pytest.Pytester, project: Path) -> None:
    result = pytester.runpytest("scenarios")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "no tests ran" in result.stdout.str()


def test_embedded_target_by_default(pytester: pytest.Pytester, project: Path) -> None:
    # As in CI after `orchestrator apply`: the project's embedded server state.
    apply_embedded(project, ["quiz-generator"])
    result = pytester.runpytest("--scenarios", "scenarios/pass.yaml", "-v")
    assert result.ret == pytest.ExitCode.OK
    assert result.parseoutcomes() == {"passed": 1}
    assert "scenarios/pass.yaml::quiz passes PASSED" in result.stdout.str()


def test_a_bad_setting_is_a_clear_error_of_each_item(
    pytester: pytest.Pytester, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plugin resolves its target like the CLI: a malformed value is named, no traceback.
    monkeypatch.setenv("ORCHESTRATOR_MODEL_MAP", "gpt-4o")
    result = pytester.runpytest("--scenarios", "scenarios/pass.yaml")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "orchestrator settings: ORCHESTRATOR_MODEL_MAP: expected" in out
    assert "Traceback" not in out and "settings.py" not in out


def test_scenarios_over_responses_on_api_openai(
    pytester: pytest.Pytester, project: Path, today: FaultProxy
) -> None:
    # Today's OpenAI (no Assistants API): the project applied on `api: openai`, whose
    # scenarios the plugin then plays over Responses with the lock file's profiles.
    with (project / "orchestrator.yaml").open("a", encoding="utf-8") as f:
        f.write("target:\n  api: openai\n")
    for broken in ("broken.yaml", "not-a-scenario.yaml"):  # apply validates them all
        (project / "scenarios" / broken).unlink()
    applied = CliRunner().invoke(
        cli, ["apply", "-C", str(project), "--base-url", today.base_url, "--yes"]
    )
    assert applied.exit_code == 0, applied.output
    today.reset()
    result = pytester.runpytest(
        "--scenarios", "--scenarios-base-url", today.base_url,
        "scenarios/pass.yaml", "scenarios/fail.yaml", "-v",
    )  # fmt: skip
    assert result.parseoutcomes() == {"passed": 1, "failed": 1}
    out = result.stdout.str()
    assert "scenarios/pass.yaml::quiz passes PASSED" in out
    assert 'reply.contains: expected the reply to contain "the answer is 4"' in out
    paths = [r.path.split("?")[0] for r in today.log if r.method == "POST"]
    assert "/v1/conversations" in paths and "/v1/responses" in paths
