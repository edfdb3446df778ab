"""Approval before changing a server, Terraform-style."""

from __future__ import annotations

import sys

import click

from orchestrator.cli.views.errors import fail


def confirm(question: str, *, yes: bool, action: str) -> None:
    """Type 'yes' to go on. No TTY and no --yes: refuse."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail(
            f"refusing to {action} without confirmation: the input is not a terminal. "
            "Review the plan above and run again with --yes (as CI does), or save it with "
            "`plan -o plan.json` and apply that file."
        )
    click.echo("")
    click.echo(click.style(question, bold=True))
    click.echo("  Only 'yes' will be accepted to approve.")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        fail(f"{action} cancelled.")
