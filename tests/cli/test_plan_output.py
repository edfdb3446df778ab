"""What plan prints about the YAML: the instructions diff points at where they are
written (the `instructions:` line or the prompt file), and warnings about scenarios are
one line pointing at `validate`, not repeated in full on every plan and apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.integration

ASSISTANT = "assistants/order-helper.yaml"
CITES = """\
kind: Scenario
name: cites the notes
assistant: order-helper
turns:
  - user: What do the notes say?
    expect:
      citations: {file: notes.md}
"""


def applied_project(tmp_path: Path) -> Path:
    r = run_cli(tmp_path, "init", "proj")
    assert r.returncode == 0, r.stdout + r.stderr
    proj = tmp_path / "proj"
    r = run_cli(proj, "apply", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    return proj


def line_of(path: Path, start: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(start))


def test_the_instructions_diff_points_at_the_instructions(tmp_path: Path) -> None:
    proj = applied_project(tmp_path)
    yaml_file = proj / ASSISTANT
    text = yaml_file.read_text(encoding="utf-8")
    yaml_file.write_text(text.replace("never guess it.", "never guess."), encoding="utf-8")
    r = run_cli(proj, "plan")
    assert r.returncode == 0, r.stdout + r.stderr
    at = line_of(yaml_file, "instructions:")
    assert at != line_of(yaml_file, "kind:")
    assert f"+++ {ASSISTANT}:{at}" in [ln.strip() for ln in r.stdout.splitlines()], r.stdout

    (proj / "assistants/prompts").mkdir()
    (proj / "assistants/prompts/orders.md").write_text("Look orders up.\n", encoding="utf-8")
    start = text.index("instructions: >-")
    end = text.index("tools:")
    yaml_file.write_text(
        text[:start] + "instructions_file: prompts/orders.md\n" + text[end:], encoding="utf-8"
    )
    r = run_cli(proj, "plan")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "+++ assistants/prompts/orders.md" in [ln.strip() for ln in r.stdout.splitlines()]


def test_scenario_warnings_are_one_line_outside_validate_and_test(tmp_path: Path) -> None:
    proj = applied_project(tmp_path)
    (proj / "scenarios/cites.yaml").write_text(CITES, encoding="utf-8")
    warning = "expects a citation of 'notes.md'"

    r = run_cli(proj, "validate")
    assert r.returncode == 0 and warning in r.stdout, r.stdout + r.stderr
    for command in (["plan"], ["apply", "--yes"], ["diff"]):
        r = run_cli(proj, *command)
        assert r.returncode == 0, r.stdout + r.stderr
        assert warning not in r.stdout + r.stderr, command
        assert "(1 warning about scenarios: `orchestrator validate` lists them)" in r.stderr
    r = run_cli(proj, "test", "-k", "order status")
    assert warning in r.stderr, r.stdout + r.stderr
