"""The ``orchestrator`` group: global options, and every command registered on it."""

from __future__ import annotations

import importlib
import logging
import os
import textwrap
from typing import Any

import click

from orchestrator import __version__
from orchestrator.cli.arguments import (
    COLOR_HELP,
    COLOR_PARAM,
    GlobalOptions,
    color_disabled_by,
    color_option,
    usage_exit_code,
)
from orchestrator.cli.exit_codes import EXIT_CODES
from orchestrator.redaction import log_redaction

# name -> (module, attribute). Imported when used, so `orchestrator validate` does not
# load the SDK, the server and the reconciler it never calls.
COMMANDS = {
    "validate": ("orchestrator.cli.commands.validate", "validate"),
    "plan": ("orchestrator.cli.commands.plan", "plan_command"),
    "apply": ("orchestrator.cli.commands.apply", "apply_command"),
    "init": ("orchestrator.cli.commands.init", "init_command"),
    "diff": ("orchestrator.cli.commands.diff", "diff_command"),
    "export": ("orchestrator.cli.commands.export", "export_command"),
    "destroy": ("orchestrator.cli.commands.destroy", "destroy_command"),
    "test": ("orchestrator.cli.commands.test", "test_command"),
    "serve": ("orchestrator.cli.commands.serve", "serve"),
}

# What `orchestrator --help` lists, so listing does not import every command (the SDK and
# the server: 2 s of start-up). tests/cli/test_command_group.py checks each line against
# the command's own help.
SUMMARIES = {
    "apply": "Make the server match the YAML: the plan, then (after approval) its changes.",
    "destroy": "Delete every object this namespace manages on the server (nothing else).",
    "diff": "Show how the server differs from the YAML, field by field (drift included).",
    "export": "Write YAML (and function JSON, prompts, files) for assistants on the server.",
    "init": "Create a project in DIRECTORY (default: here): orchestrator.yaml, an example...",
    "plan": "Show what apply would change on the server to match the YAML (read-only).",
    "serve": "Run the embedded Assistants API v2 server in the foreground.",
    "test": "Run scenarios: scripted conversations with their expectations.",
    "validate": "Check assistant, scenario and cassette files; never touches a server.",
}


class CommandGroup(click.Group):
    """The commands of :data:`COMMANDS`, each imported on first use.

    Every command also takes ``--color/--no-color`` after its name, and a usage error
    (click's, e.g. a typo'd flag) exits :data:`~orchestrator.cli.exit_codes.USAGE`,
    never the 2 that means "changes present".
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        if not any(p.name == COLOR_PARAM for p in command.params):
            command.params.append(color_option())
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        # One line each, cut as click cuts a command's own short help.
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, click.Command(n, help=SUMMARIES[n]).get_short_help_str(limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with usage_exit_code():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with usage_exit_code():
            return super().invoke(ctx)


def _exit_code_help() -> str:
    # \b keeps click from re-wrapping the table.
    rows = "\n".join(
        textwrap.fill(meaning, 78, initial_indent=f"  {code:<4} ", subsequent_indent=" " * 7)
        for code, meaning in EXIT_CODES
    )
    return f"\b\nExit codes:\n{rows}"


@click.group(
    cls=CommandGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_exit_code_help(),
)
@click.version_option(__version__, "--version", prog_name="orchestrator")
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug logs).")
@click.option("--color/--no-color", COLOR_PARAM, default=None, help=COLOR_HELP)
@click.pass_context
def cli(ctx: click.Context, verbose: int, color: bool | None) -> None:
    """Assistants as code: validate, reconcile and test OpenAI-style assistants."""
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # -v logs request URLs, -vv response headers too: either may carry a key.
    log_redaction.install("")
    if color is None and color_disabled_by(os.environ):
        color = False
    if color is not None:
        ctx.color = color
    ctx.obj = GlobalOptions(verbose, color)


def main() -> None:
    os.environ.setdefault("PYTHONUTF8", "1")
    cli(prog_name="orchestrator")
