"""The ``orchestrator`` group: global options, and every command registered on it."""

from __future__ import annotations

import logging
import os

import click

from orchestrator import __version__
from orchestrator.cli.arguments import GlobalOptions
from orchestrator.cli.commands.apply import apply_command
from orchestrator.cli.commands.destroy import destroy_command
from orchestrator.cli.commands.diff import diff_command
from orchestrator.cli.commands.export import export_command
from orchestrator.cli.commands.plan import plan_command
from orchestrator.cli.commands.serve import serve
from orchestrator.cli.commands.test import test_command
from orchestrator.cli.commands.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="orchestrator")
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug logs).")
@click.option(
    "--color/--no-color", default=None, help="Force colours on or off (default: only on a TTY)."
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, color: bool | None) -> None:
    """Assistants as code: validate, reconcile and test OpenAI-style assistants."""
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if color is not None:
        ctx.color = color
    ctx.obj = GlobalOptions(verbose, color)


for command in (
    validate,
    plan_command,
    apply_command,
    diff_command,
    export_command,
    destroy_command,
    test_command,
    serve,
):
    cli.add_command(command)


def main() -> None:
    os.environ.setdefault("PYTHONUTF8", "1")
    cli(prog_name="orchestrator")
