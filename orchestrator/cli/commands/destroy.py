"""`orchestrator destroy`: delete what a namespace manages."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.arguments import (
    GlobalOptions,
    force_unlock_option,
    parallelism_option,
    project_options,
)
from orchestrator.cli.exit_codes import ERROR
from orchestrator.cli.session import connected, load_project_or_exit, settings_for
from orchestrator.cli.views.apply import ConsoleReporter
from orchestrator.cli.views.errors import reported_errors
from orchestrator.cli.views.plan import render_plan
from orchestrator.cli.views.prompt import confirm
from orchestrator.reconcile import lockfile as lf
from orchestrator.reconcile import workflow
from orchestrator.reconcile.apply import ApplyOptions
from orchestrator.reconcile.desired import DesiredState


@click.command("destroy")
@project_options
@click.option("-y", "--yes", "--auto-approve", "yes", is_flag=True, help="Destroy without asking.")
@force_unlock_option
@parallelism_option
@click.pass_obj
def destroy_command(
    obj: GlobalOptions,
    project_dir: Path | None,
    base_url: str | None,
    api_key: str | None,
    namespace: str | None,
    yes: bool,
    force_unlock: bool,
    parallelism: int,
) -> None:
    """Delete every object this namespace manages on the server (nothing else).

    \b
    Examples:
      orchestrator destroy -n dev
      orchestrator destroy -n pr-123 --yes      # CI, after a preview environment
    """
    project = load_project_or_exit(project_dir)
    settings = settings_for(project, base_url, api_key, namespace)
    target, ns = settings.target, settings.namespace
    with reported_errors(target.describe()), connected(target) as api:
        plan = workflow.destroy_plan(api, ns, target=target.label, parallelism=parallelism)
        obj.echo(render_plan(plan, where=target.describe()))
        if not plan.has_changes:
            return
        confirm(
            f"Do you really want to destroy every managed object in namespace {ns!r}?",
            yes=yes,
            action="destroy",
        )
        outcome = workflow.apply(
            api,
            plan,
            lambda op: b"",
            desired=DesiredState(namespace=ns),
            strict=not yes,
            lock=workflow.LockSettings(force=force_unlock),
            options=ApplyOptions(parallelism=parallelism),
            reporter=ConsoleReporter(color=obj.color),
            operation="destroy",
        )
    for note in outcome.notes:
        obj.echo(note)
    result = outcome.result
    if result is not None and result.failures:
        for f in result.failures:
            obj.echo(f"  {f}", err=True)
        obj.echo("Destroy failed in part; run it again to finish.", err=True)
        sys.exit(ERROR)
    lf.lockfile_path(project.config.root, ns).unlink(missing_ok=True)
    n = len(result.results) if result else 0
    obj.echo(
        click.style("\nDestroy complete!", fg="green", bold=True) + f" Resources: {n} destroyed.",
    )
