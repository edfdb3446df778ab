"""`orchestrator diff`: how the server differs from the YAML, field by field."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.arguments import GlobalOptions, reconcile_options
from orchestrator.cli.exit_codes import CHANGES, ERROR
from orchestrator.cli.session import plan_paths
from orchestrator.cli.views.json_reports import diff_json
from orchestrator.cli.views.json_text import dumps
from orchestrator.cli.views.plan import render_diff
from orchestrator.reconcile.plan import PlanOptions


@click.command("diff")
@reconcile_options
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the differences as versioned JSON (format_version) on stdout.",
)
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
    as_json: bool,
) -> None:
    """Show how the server differs from the YAML, field by field (drift included).

    Exit code 0: no differences, 2: differences, 1: error (also: items that cannot be
    applied).

    \b
    Examples:
      orchestrator diff
      orchestrator diff assistants/math-tutor.yaml
      orchestrator diff --json | jq '.differences[].label'
    """
    _, result = plan_paths(
        project_dir,
        paths,
        base_url=base_url,
        api_key=api_key,
        namespace=namespace,
        options=PlanOptions(prune=prune, adopt=adopt),
        parallelism=parallelism,
        as_json=as_json,
    )
    obj.echo(dumps(diff_json(result)) if as_json else render_diff(result))
    if result.blocked:
        sys.exit(ERROR)  # items that cannot be applied
    if any(c.action != "noop" for c in result.changes):
        sys.exit(CHANGES)
