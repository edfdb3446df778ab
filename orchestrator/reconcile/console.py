"""What the reconcile commands share on the terminal: errors, confirmation, the client.

Kept out of ``cli.py`` so the commands there stay a few lines each. Errors a user can act
on print one message (no traceback) and exit 1.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import click
import openai

from orchestrator.reconcile.api import Api, describe_error
from orchestrator.reconcile.errors import ReconcileError


def fail(message: str, code: int = 1) -> None:
    click.echo(click.style("Error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


@contextmanager
def reported_errors(where: str) -> Iterator[None]:
    """Turn reconciler and server errors into one clear message and exit code 1."""
    try:
        yield
    except ReconcileError as e:
        fail(str(e))
    except openai.AuthenticationError:
        fail(
            f"{where} refused the API key (HTTP 401). Check OPENAI_API_KEY or --api-key "
            "(the key is not shown)."
        )
    except openai.APIConnectionError as e:
        fail(f"could not reach {where}: {describe_error(e)}. Is the server running?")
    except openai.APIStatusError as e:
        request = e.response.request
        fail(f"{where} answered {request.method} {request.url.path} with {describe_error(e)}")


def confirm(question: str, *, yes: bool, action: str) -> None:
    """Terraform-style approval: type 'yes'. No TTY and no --yes: refuse."""
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


@contextmanager
def connected(target: Any, timeout: float = 60.0) -> Iterator[Api]:
    """An :class:`Api` on the target (starts the embedded server when that is the target)."""
    from orchestrator.targets import connect

    stack = ExitStack()
    try:
        client = stack.enter_context(connect(target))
    except OSError as e:
        fail(f"could not start or reach {target.describe()}: {e}")
    with stack:
        yield Api(client, timeout=timeout)


def target_label(target: Any) -> str:
    """How plans and lock files name a target (no key, no ephemeral port)."""
    return str(target.label)
