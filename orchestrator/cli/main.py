"""The ``orchestrator`` group: global options, and every command registered on it."""

from __future__ import annotations

import importlib
import logging
import os

import click

from orchestrator import __version__
from orchestrator.cli.arguments import GlobalOptions

# name -> (module, attribute). Imported when used, so `orchestrator validate` does not
# load the SDK, the server and the reconciler it never calls.
COMMANDS = {
    "validate": ("orchestrator.cli.commands.validate", "validate"),
    "plan": ("orchestrator.cli.commands.plan", "plan_command"),
    "apply": ("orchestrator.cli.commands.apply", "apply_command"),
    "diff": ("orchestrator.cli.commands.diff", "diff_command"),
    "export": ("orchestrator.cli.commands.export", "export_command"),
    "destroy": ("orchestrator.cli.commands.destroy", "destroy_command"),
    "test": ("orchestrator.cli.commands.test", "test_command"),
    "serve": ("orchestrator.cli.commands.serve", "serve"),
}


class CommandGroup(click.Group):
    """The commands of :data:`COMMANDS`, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def main() -> None:
    os.environ.setdefault("PYTHONUTF8", "1")
    cli(prog_name="orchestrator")
