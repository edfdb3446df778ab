"""`orchestrator apply`: make the server match the YAML (or apply a saved plan)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.arguments import GlobalOptions, force_unlock_option, reconcile_options
from orchestrator.cli.exit_codes import ERROR
from orchestrator.cli.session import (
    applied_lockfile,
    connected,
    load_project_or_exit,
    plan_project,
    settings_for,
)
from orchestrator.cli.views.apply import ConsoleReporter
from orchestrator.cli.views.errors import fail, reported_errors
from orchestrator.cli.views.json_reports import apply_json
from orchestrator.cli.views.json_text import dumps
from orchestrator.cli.views.plan import render_plan
from orchestrator.cli.views.prompt import confirm
from orchestrator.reconcile import lockfile as lf
from orchestrator.reconcile import workflow
from orchestrator.reconcile.apply import ApplyOptions, content_from_disk, content_from_memory
from orchestrator.reconcile.plan import Plan, PlanOptions


@click.command("apply")
@reconcile_options
@click.argument("args", nargs=-1, type=click.Path(path_type=Path), metavar="[PLAN.json | PATHS...]")
@click.option("-y", "--yes", "--auto-approve", "yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--env",
    "print_env",
    is_flag=True,
    help="Print KEY_ASSISTANT_ID=... lines for .env (on api: openai KEY_AGENT_ID=... and "
    "KEY_VECTOR_STORE_ID=...; other output goes to stderr).",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Set those KEY_..._ID=... lines in this .env file (other lines are kept).",
)
@click.option(
    "--lockfile/--no-lockfile",
    default=True,
    show_default=True,
    help="Write assistants.lock.json (assistants.<namespace>.lock.json outside 'default').",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print what was applied as versioned JSON (format_version) on stdout; the plan "
    "and progress go to stderr. Needs --yes or a saved plan.",
)
@force_unlock_option
@click.pass_obj
def apply_command(
    obj: GlobalOptions,
    args: tuple[Path, ...],
    project_dir: Path | None,
    base_url: str | None,
    api_key: str | None,
    namespace: str | None,
    prune: bool,
    adopt: bool,
    parallelism: int,
    yes: bool,
    print_env: bool,
    env_file: Path | None,
    lockfile: bool,
    force_unlock: bool,
    as_json: bool,
) -> None:
    """Make the server match the YAML: the plan, then (after approval) its changes.

    Never deletes without --prune. With a saved plan (PLAN.json from `plan -o`) it
    applies exactly that plan, and refuses if the server changed since.

    \b
    Examples:
      orchestrator apply
      orchestrator apply --yes --prune          # CI, on merge
      orchestrator apply plan.json
      orchestrator apply --yes --env >> .env
      orchestrator apply --yes --json > applied.json
    """
    saved = len(args) == 1 and args[0].suffix == ".json"
    if as_json and print_env:
        raise click.UsageError("--json and --env both want stdout; pick one")
    if as_json and not (yes or saved):
        # A prompt cannot share stdout with a document a script reads (as Terraform).
        raise click.UsageError("--json needs --yes (or a saved plan to apply)")
    err = print_env or as_json  # then stdout carries only the env lines / the JSON
    project = load_project_or_exit(project_dir, () if saved else args, as_json=as_json)
    settings = settings_for(project, base_url, api_key, namespace)
    target = settings.target
    label = target.label
    reporter = ConsoleReporter(sys.stderr if err else sys.stdout, color=obj.color)
    options = ApplyOptions(parallelism=parallelism)
    lock = workflow.LockSettings(force=force_unlock)
    with reported_errors(target.describe()), connected(target) as api, reporter:
        if saved:
            if prune or adopt:
                fail("--prune and --adopt belong to `plan`; a saved plan already holds them")
            plan = workflow.load_saved_plan(args[0], namespace=namespace, target=label)
            ns = plan.namespace
            obj.echo(render_plan(plan, where=target.describe()), err=err)
            outcome = workflow.apply(
                api,
                plan,
                content_from_disk(project.config.root),
                lock=lock,
                options=options,
                reporter=reporter,
            )
        else:
            ns = settings.namespace
            desired, plan = plan_project(
                api,
                project,
                settings,
                PlanOptions(prune=prune, adopt=adopt),
                partial=bool(args),
                parallelism=parallelism,
            )
            obj.echo(render_plan(plan, where=target.describe()), err=err)
            if plan.has_changes and not plan.blocked:
                confirm(
                    f"Do you want to perform these actions in namespace {ns!r}?",
                    yes=yes,
                    action="apply",
                )

            def replanned(fresh: Plan) -> None:
                obj.echo("\nThe server changed since the plan; applying the fresh plan:", err=err)
                obj.echo(render_plan(fresh, where=target.describe()), err=err)

            contents = {s: f.content or b"" for s, f in desired.files.items()}
            outcome = workflow.apply(
                api,
                plan,
                content_from_memory(contents),
                desired=desired,
                strict=not yes,
                lock=lock,
                options=options,
                reporter=reporter,
                on_replan=replanned,
            )
    for note in outcome.notes:
        obj.echo(note, err=err)
    result = outcome.result
    locked = applied_lockfile(project, outcome, target)
    written = None
    if lockfile:
        path = lf.lockfile_path(project.config.root, ns)
        written = path.name
        if lf.write_lockfile(path, locked):
            obj.echo(f"Wrote {path.name}.", err=err)
    lines = lf.env_lines(locked)
    if env_file is not None:
        lf.update_env_file(env_file, lines)
    if as_json:
        click.echo(dumps(apply_json(outcome, lockfile=written)))
    if result is not None:
        counts = outcome.counts()
        if result.failures:
            obj.echo(
                click.style(
                    f"\nApply failed: {len(result.failures)} change(s) did not go through:",
                    fg="red",
                    bold=True,
                ),
                err=True,
            )
            for f in result.failures:
                obj.echo(f"  {f}", err=True)
            if result.deletions_skipped:
                obj.echo("Deletions were skipped because of these errors.", err=True)
            obj.echo("What succeeded is kept; run apply again to finish.", err=True)
            sys.exit(ERROR)
        obj.echo(
            click.style("\nApply complete!", fg="green", bold=True)
            + f" Resources: {counts.added} added, {counts.changed} changed,"
            f" {counts.destroyed} destroyed.",
            err=err,
        )
    if print_env:
        for line in lines:
            click.echo(line)
