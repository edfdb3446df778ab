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
