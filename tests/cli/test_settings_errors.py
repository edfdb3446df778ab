"""A bad setting ends a command with one line naming it, and an exit status that cannot be
mistaken for "changes present" (plan --detailed-exitcode, diff) or a test failure."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from tests.support import ROOT


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["plan", "--detailed-exitcode"], 1),
        (["diff"], 1),
        (["apply", "--yes"], 1),
        (["destroy", "--yes"], 1),
        (["export"], 1),
        (["test"], 2),  # an error of the run, not a failed scenario
    ],
)
def test_a_malformed_model_map_stops_the_command(
    args: list[str], code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("ORCHESTRATOR_MODEL_MAP", "gpt-4o=fine broken")
    result = CliRunner().invoke(cli, [*args, "-C", str(ROOT)])
    assert result.exit_code == code, result.output
    assert "ORCHESTRATOR_MODEL_MAP: expected ASSISTANT_MODEL=UPSTREAM_MODEL" in result.stderr
    assert "'broken'" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("args", "code"),
    [(["plan", "--detailed-exitcode"], 1), (["apply", "--yes"], 1), (["test"], 2)],
)
def test_the_assistants_api_on_openais_host_is_refused_naming_api_openai(
    args: list[str], code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    result = CliRunner().invoke(cli, [*args, "-C", str(ROOT)])
    assert result.exit_code == code, result.output
    assert "since 2026-08-26" in result.stderr and "target: {api: openai}" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.integration
def test_scenarios_on_the_openai_api_before_apply_name_the_missing_profile(
    tmp_path, monkeypatch
) -> None:
    import shutil

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for part in ("assistants", "scenarios", "orchestrator.yaml"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy
        copy(ROOT / part, tmp_path / part)
    for cassette in (tmp_path / "scenarios").glob("*.cassette.yaml"):
        cassette.unlink()
    result = CliRunner().invoke(
        cli,
        # --allow-drift: no sync first (a sync applies, and writes the profiles).
        ["test", "-C", str(tmp_path), "--api", "openai", "--base-url", "embedded", "--allow-drift"],
    )
    assert result.exit_code == 2, result.output
    assert "assistant 'math-tutor' has no Responses profile" in result.output
    assert "run `orchestrator apply` in the project first" in result.output
    assert "Traceback" not in result.output
