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
from orchestrator.project.specs import Diagnostic, ProjectConfig
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


def _about_scenarios(d: Diagnostic, config: ProjectConfig) -> bool:
    path = d.location.path.resolve()
    if path.name.endswith((".cassette.yaml", ".cassette.yml")):
        return True
    folders = [(config.root / p).resolve() for p in config.scenarios_paths]
    return any(path.is_relative_to(f) for f in folders)


def echo_problems(project: Project, cwd: Path, *, scenarios: bool = True) -> None:
    """Every diagnostic as PATH:LINE:COL: SEVERITY: MESSAGE, then what to do.

    ``scenarios=False`` (plan, apply, ...: commands that play no scenario): warnings about
    scenarios and cassettes are one line pointing at `validate`, not repeated in full."""
    hidden = 0
    for d in project.diagnostics:
        if not scenarios and d.severity == "warning" and _about_scenarios(d, project.config):
            hidden += 1
            continue
        click.echo(d.format(cwd), err=True)
    if hidden:
        click.echo(
            f"({hidden} warning{'s' if hidden != 1 else ''} about scenarios: "
            "`orchestrator validate` lists them)",
            err=True,
        )
    if not project.ok:
        n = sum(d.severity == "error" for d in project.diagnostics)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found; fix them and run again.", err=True)
