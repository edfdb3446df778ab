"""The runtime's example app answers the quiz with the scenarios' handler, against the
embedded server playing today's OpenAI (the `today` fixture: no Assistants API)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest
from click.testing import CliRunner
from openai.types.responses import ResponseFunctionToolCall

from orchestrator.cli import cli
from orchestrator.runtime import (
    ProfileError,
    RespondError,
    call_handler,
    load_profile,
    respond,
)
from tests.support import API_KEY, ROOT
from tests.support.proxy import FaultProxy


@pytest.fixture
def applied(tmp_path: Path, today: FaultProxy) -> Path:
    """The example project, applied on `api: openai` through the fixture; its lock file."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "assistants", project / "assistants")
    (project / "orchestrator.yaml").write_text(
        f"namespace: app-{tmp_path.name[-12:]}\ntarget:\n  api: openai\n"
        "defaults:\n  model: gpt-4o\n",
        encoding="utf-8",
    )
    env = {"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None, "ORCHESTRATOR_NAMESPACE": None}
    args = ["apply", "-C", str(project), "--base-url", today.base_url, "--api-key", API_KEY]
    r = CliRunner().invoke(cli, [*args, "--yes"], env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    (lock,) = project.glob("assistants*.lock.json")
    return lock


def test_the_example_app_answers_the_quiz_with_the_scenarios_handler(
    applied: Path, today: FaultProxy
) -> None:
    env = {**os.environ, "OPENAI_BASE_URL": today.base_url, "OPENAI_API_KEY": API_KEY}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples/quiz_app.py"), "--lock", str(applied),
         "Make me a quiz about triangles and show it with display_quiz."],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The handler's answers went back to the model, and the model then replied in text.
    assert lines[0].startswith("[display_quiz] ") and lines[0].endswith("]"), lines
    answers = json.loads(lines[0].split(" -> ", 1)[1])
    assert answers and all(a in ("a", "I don't know.") for a in answers)
    assert len(lines) > 1 and lines[-1].strip()
    posts = [r.path for r in today.log if r.method == "POST"]
    assert posts.count("/v1/responses") == 2 and "/v1/conversations" in posts


def test_arguments_are_checked_against_the_profile_before_a_handler_runs(
    applied: Path, tmp_path: Path
) -> None:
    profile = load_profile("quiz-generator", path=applied)
    ran = tmp_path / "ran"
    module = tmp_path / "handlers.py"
    module.write_text(
        "from orchestrator import handler\n\n"
        "@handler('display_quiz')\n"
        "def display_quiz(title, questions):\n"
        f"    open({str(ran)!r}, 'w').close()\n"
        "    return ['a'] * len(questions)\n",
        encoding="utf-8",
    )
    # A call as a model that ignores the schema (strict is off) may send it.
    bad = ResponseFunctionToolCall(
        type="function_call", name="display_quiz", arguments='{"title": 5}', call_id="call_1"
    )
    with pytest.raises(RespondError) as caught:
        call_handler(profile, bad, [module])
    message = str(caught.value)
    assert "display_quiz with arguments that do not match its JSON Schema" in message
    assert "title: 5 is not of type 'string'" in message and "'questions' is a required" in message
    assert caught.value.failure is not None and caught.value.failure.kind == "invalid_arguments"
    assert not ran.exists()
    good = bad.model_copy(
        update={"arguments": '{"title": "T", "questions": [{"question_text": "2+2?"}]}'}
    )
    assert call_handler(profile, good, [module]) == '["a"]' and ran.exists()


def test_a_failed_response_ends_the_turn_with_the_servers_reason(
    applied: Path, today: FaultProxy
) -> None:
    client = openai.OpenAI(base_url=today.base_url, api_key=API_KEY, max_retries=0)
    profile = load_profile("quiz-generator", path=applied)
    conversation = client.conversations.create()
    # The embedded model, scripted to call a function the profile does not offer.
    step = {"tool_calls": [{"type": "function", "name": "grade_quiz", "arguments": {}}]}
    scripted = httpx.post(
        f"{today.base_url}/x-orchestrator/threads/{conversation.id}/script",
        json={"steps": [step]},
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    assert scripted.status_code == 200, scripted.text
    with pytest.raises(RespondError) as caught:
        respond(client, profile, conversation, "Quiz me.")
    assert "quiz-generator: response resp_" in str(caught.value)
    assert " is failed: " in str(caught.value) and "grade_quiz" in str(caught.value)


def test_a_missing_profile_names_the_file_and_what_it_has(applied: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile("nope", path=applied)
    assert str(applied) in str(caught.value) and "quiz-generator" in str(caught.value)
    with pytest.raises(ProfileError, match="run `orchestrator apply`"):
        load_profile("quiz-generator", path=applied.with_name("missing.json"))
