"""Errors on the terminal: one clear message (no traceback) and the exit code."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
import openai

from orchestrator.cli.exit_codes import ERROR, INTERRUPTED
from orchestrator.project import Project
from orchestrator.reconcile.api import describe_error
from orchestrator.reconcile.errors import ReconcileError
from orchestrator.redaction import log_redaction


def fail(message: str, code: int = ERROR) -> NoReturn:
    # A server's error message may echo the key or a credential-bearing URL.
    message = log_redaction.redact(message)
    click.echo(click.style("Error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


@contextmanager
def reported_errors(where: str, code: int = ERROR) -> Iterator[None]:
    """Turn reconciler and server errors into one clear message and exit ``code``."""
    try:
        yield
    except KeyboardInterrupt:
        # No traceback: writes already made are kept, and an apply's journal lets the
        # next run find and finish them.
        fail(
            "interrupted; what was already done is kept. Run the command again to finish.",
            INTERRUPTED,
        )
    except ReconcileError as e:
        fail(str(e), code)
    except openai.AuthenticationError:
        fail(
            f"{where} refused the API key (HTTP 401). Check OPENAI_API_KEY or --api-key "
            "(the key is not shown).",
            code,
        )
    except openai.APIConnectionError as e:
        fail(f"could not reach {where}: {describe_error(e)}. Is the server running?", code)
    except openai.APIStatusError as e:
        request = e.response.request
        fail(
            f"{where} answered {request.method} {request.url.path} with {describe_error(e)}",
            code,
        )


def echo_problems(project: Project, cwd: Path) -> None:
    """Every diagnostic as PATH:LINE:COL: SEVERITY: MESSAGE, then what to do."""
    for d in project.diagnostics:
        click.echo(d.format(cwd), err=True)
    if not project.ok:
        n = sum(d.severity == "error" for d in project.diagnostics)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found; fix them and run again.", err=True)
