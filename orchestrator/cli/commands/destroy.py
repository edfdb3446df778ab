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
from orchestrator.cli.views.json_reports import destroy_json
from orchestrator.cli.views.json_text import dumps
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
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print what was destroyed as versioned JSON (format_version) on stdout; the plan "
    "and progress go to stderr. Needs --yes.",
)
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
    as_json: bool,
) -> None:
    """Delete every object this namespace manages on the server (nothing else).

    \b
    Examples:
      orchestrator destroy -n dev
      orchestrator destroy -n pr-123 --yes      # CI, after a preview environment
      orchestrator destroy -n pr-123 --yes --json
    """
    if as_json and not yes:
        # A prompt cannot share stdout with a document a script reads (as Terraform).
        raise click.UsageError("--json needs --yes")
    err = as_json  # then stdout carries only the JSON
    project = load_project_or_exit(project_dir, as_json=as_json)
    settings = settings_for(project, base_url, api_key, namespace)
    target, ns = settings.target, settings.namespace
    outcome = None
    reporter = ConsoleReporter(sys.stderr if err else sys.stdout, color=obj.color)
    with reported_errors(target.describe()), connected(target) as api, reporter:
        plan = workflow.destroy_plan(api, ns, target=target.label, parallelism=parallelism)
        if not plan.has_changes:
            obj.echo(
                f"Nothing to destroy: namespace {ns!r} on {target.describe()} manages no objects.",
                err=err,
            )
        else:
            obj.echo(render_plan(plan, where=target.describe()), err=err)
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
                reporter=reporter,
                operation="destroy",
            )
    if as_json:
        click.echo(dumps(destroy_json(outcome, plan)))
    if outcome is None:
        return
    for note in outcome.notes:
        obj.echo(note, err=err)
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
        err=err,
    )
