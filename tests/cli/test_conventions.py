"""CLI conventions users bring from other tools: usage errors never look like "changes
present", a wrong -C is an error, an empty project says so, and colours follow NO_COLOR,
TERM=dumb and --no-color (before or after the command name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.cli.exit_codes import CHANGES, USAGE
from tests.support.cli import invoke_cli, run_cli

ANSI = "\x1b["


def empty_project(tmp_path: Path) -> Path:
    (tmp_path / "orchestrator.yaml").write_text("kind: Project\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plan", "--detailed-exitcodes"], "No such option '--detailed-exitcodes'"),
        (["diff", "--prnue"], "No such option '--prnue'"),
        (["validate", "--jsn"], "No such option '--jsn'"),
        (["plna"], "No such command 'plna'"),
        (["init", "--ci", "gitlab"], "Invalid value for '--ci'"),
        (["test", "-j", "0"], "Invalid value for '-j'"),
        (["--colour", "plan"], "No such option '--colour'"),
    ],
)
def test_a_usage_error_exits_usage_not_changes(tmp_path: Path, args: list[str], says: str) -> None:
    r = invoke_cli(empty_project(tmp_path), *args)
    assert USAGE != CHANGES
    assert r.returncode == USAGE, r.stdout + r.stderr
    assert says in r.stderr
    assert isinstance(r.exception, SystemExit), r.exception


def test_a_usage_error_exits_usage_from_the_real_command(tmp_path: Path) -> None:
    # The in-process runner above goes through click's main(); this is the console script's
    # process exit status, once.
    r = run_cli(empty_project(tmp_path), "plan", "--detailed-exitcodes")
    assert r.returncode == USAGE, r.stdout + r.stderr
    assert "No such option '--detailed-exitcodes'" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_missing_project_folder_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    for command in ("validate", "plan", "apply", "diff", "test", "destroy", "export", "serve"):
        r = invoke_cli(tmp_path, command, "-C", str(missing))
        assert r.returncode == USAGE, (command, r.stdout + r.stderr)
        assert f"'-C': Directory '{missing}' does not exist" in r.stderr, r.stderr
        assert "No changes" not in r.stdout
    assert not missing.exists()


def test_a_file_as_project_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    r = run_cli(tmp_path, "validate", "-C", "f")
    assert r.returncode == USAGE
    assert "Directory 'f' is a file" in r.stderr


def test_a_project_without_assistants_warns(tmp_path: Path) -> None:
    r = run_cli(empty_project(tmp_path), "validate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"warning: no assistant files found under 'assistants' in {tmp_path}" in r.stdout


@pytest.mark.integration
def test_plan_of_an_empty_folder_warns(tmp_path: Path) -> None:
    r = run_cli(tmp_path, "plan", "-C", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no assistant files found under 'assistants'" in r.stdout + r.stderr


def colored(tmp_path: Path, args: list[str], env: dict[str, str]) -> str:
    # color=True: the runner's output is a terminal that keeps ANSI codes unless the
    # command turns colours off.
    result = CliRunner(env={"NO_COLOR": None, "TERM": "xterm", **env}).invoke(
        cli, [*args, "-C", str(empty_project(tmp_path))], color=True
    )
    assert result.exit_code == 0, result.output
    assert "no assistant files found" in result.output
    return result.output


def test_colours_by_default_on_a_terminal(tmp_path: Path) -> None:
    assert ANSI in colored(tmp_path, ["validate"], {})


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["validate"], {"NO_COLOR": "1"}),
        (["validate"], {"TERM": "dumb"}),
        (["--no-color", "validate"], {}),
        (["validate", "--no-color"], {}),
    ],
)
def test_colours_off(tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    assert ANSI not in colored(tmp_path, args, env)


def test_an_empty_no_color_keeps_colours_and_a_flag_beats_the_environment(
    tmp_path: Path,
) -> None:
    assert ANSI in colored(tmp_path, ["validate"], {"NO_COLOR": ""})
    assert ANSI in colored(tmp_path, ["validate", "--color"], {"NO_COLOR": "1"})
    assert ANSI in colored(tmp_path, ["--color", "validate"], {"TERM": "dumb"})
