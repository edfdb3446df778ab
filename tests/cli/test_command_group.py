"""The command group: every command is reachable, and each is imported only when used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.cli.main import COMMANDS, SUMMARIES


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_answers_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {name} [OPTIONS]"), result.output


def test_the_group_lists_every_command() -> None:
    listed = CliRunner().invoke(cli, ["--help"]).output
    assert all(f"  {name} " in listed for name in COMMANDS)


def test_the_listing_says_what_each_command_says_of_itself() -> None:
    # The group lists SUMMARIES without importing the commands; they must not drift.
    assert sorted(SUMMARIES) == sorted(COMMANDS)
    ctx = click.Context(cli)
    for name, summary in SUMMARIES.items():
        command = cli.get_command(ctx, name)
        assert command is not None
        assert command.get_short_help_str(limit=len(summary)) == summary, name


def test_help_does_not_load_the_sdk_or_the_server() -> None:
    code = (
        "import sys\n"
        "from orchestrator.cli import cli\n"
        "try:\n    cli(['--help'])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "loaded = [m for m in ('openai', 'fastapi', 'uvicorn', 'orchestrator.server',"
        " 'orchestrator.reconcile') if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "LOADED []" in out, out


def test_validate_does_not_load_the_sdk_or_the_server(tmp_path: Path) -> None:
    (tmp_path / "orchestrator.yaml").write_text("kind: Project\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from orchestrator.cli import cli\n"
        f"try:\n    cli(['validate', '-C', {str(tmp_path)!r}])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "loaded = [m for m in ('openai', 'fastapi', 'uvicorn', 'orchestrator.server',"
        " 'orchestrator.reconcile') if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "LOADED []" in out, out


def test_project_commands_load_the_server_only_for_the_embedded_target() -> None:
    # A plan on a URL target (CI against OpenAI) never needs FastAPI, uvicorn or the routes.
    code = (
        "import sys\n"
        "import orchestrator.cli.commands.plan, orchestrator.cli.commands.apply\n"
        "import orchestrator.cli.commands.test, orchestrator.settings\n"
        "print('LOADED', [m for m in ('fastapi', 'uvicorn', 'orchestrator.server.app')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "LOADED []" in out, out
