"""`orchestrator plan`: what apply would change (read-only)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.arguments import GlobalOptions, reconcile_options
from orchestrator.cli.exit_codes import CHANGES, ERROR
from orchestrator.cli.session import plan_paths
from orchestrator.cli.views.plan import render_plan
from orchestrator.reconcile import planfile
from orchestrator.reconcile.plan import PlanOptions


@click.command("plan")
@reconcile_options
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the versioned machine-readable plan (problems of the YAML: the list "
    "`validate --json` prints).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan; `orchestrator apply FILE` applies exactly it.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0: no changes, 2: changes, 1: error (also: items that cannot be applied).",
)
@click.pass_obj
def plan_command(
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
    out: Path | None,
    detailed_exitcode: bool,
) -> None:
    """Show what apply would change on the server to match the YAML (read-only).

    \b
    Examples:
      orchestrator plan
      orchestrator plan -o plan.json && orchestrator apply plan.json
      orchestrator plan --json | jq .summary
      orchestrator plan --detailed-exitcode   # CI: 0 in sync, 2 changes, 1 error

    A plan with items that cannot be applied (conflicts, e.g. an unmanaged assistant
    of the same name without --adopt) exits 1.
    """
    settings, result = plan_paths(
        project_dir,
        paths,
        base_url=base_url,
        api_key=api_key,
        namespace=namespace,
        options=PlanOptions(prune=prune, adopt=adopt),
        parallelism=parallelism,
        as_json=as_json,
    )
    target = settings.target
    if out is not None:
        out.write_text(planfile.dumps(result), encoding="utf-8")
    if as_json:
        click.echo(planfile.dumps(result), nl=False)
    else:
        obj.echo(render_plan(result, where=target.describe()))
        if out is not None:
            obj.echo(
                f"\nSaved the plan to {out}. To apply exactly this plan: orchestrator apply {out}",
            )
    if result.blocked:
        # Items that cannot be applied: an error, never "changes present".
        sys.exit(ERROR)
    if detailed_exitcode and result.has_changes:
        sys.exit(CHANGES)
