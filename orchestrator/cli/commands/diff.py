"""`orchestrator diff`: how the server differs from the YAML, field by field."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.arguments import GlobalOptions, reconcile_options
from orchestrator.cli.exit_codes import CHANGES
from orchestrator.cli.session import (
    connected,
    load_project_or_exit,
    plan_project,
    settings_for,
)
from orchestrator.cli.views.errors import reported_errors
from orchestrator.cli.views.plan import render_diff
from orchestrator.reconcile.plan import PlanOptions


@click.command("diff")
@reconcile_options
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def diff_command(
    obj: GlobalOptions,
    paths: tuple[Path, ...],
    project_dir: Path | None,
    base_url: str | None,
    api_key: str | None,
    namespace: str | None,
    prune: bool,
    adopt: bool,
    parallelism: int,
) -> None:
    """Show how the server differs from the YAML, field by field (drift included).

    Exit code 0: no differences, 2: differences, 1: error.

    \b
    Examples:
      orchestrator diff
      orchestrator diff assistants/math-tutor.yaml
    """
    project = load_project_or_exit(project_dir, paths)
    settings = settings_for(project, base_url, api_key, namespace)
    target = settings.target
    with reported_errors(target.describe()), connected(target) as api:
        _, result = plan_project(
            api,
            project,
            settings,
            PlanOptions(prune=prune, adopt=adopt),
            partial=bool(paths),
            parallelism=parallelism,
        )
    obj.echo(render_diff(result))
    if any(c.action != "noop" for c in result.changes):
        sys.exit(CHANGES)
