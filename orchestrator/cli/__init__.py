"""The ``orchestrator`` command line. Thin: parse options, call the library, render."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from orchestrator import __version__


class Ctx:
    """Options shared by every command."""

    def __init__(self, verbose: int, color: bool | None) -> None:
        self.verbose = verbose
        self.color = color


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="orchestrator")
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug logs).")
@click.option(
    "--color/--no-color", default=None, help="Force colours on or off (default: only on a TTY)."
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, color: bool | None) -> None:
    """Assistants as code: validate, reconcile and test OpenAI-style assistants."""
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if color is not None:
        ctx.color = color
    ctx.obj = Ctx(verbose, color)


# --- shared by project commands ---------------------------------------------------


def project_options(f):  # type: ignore[no-untyped-def]
    """Options of every command that works on a project and a target."""
    f = click.option(
        "--namespace",
        "-n",
        help="Namespace of managed objects (default: orchestrator.yaml's, else "
        "ORCHESTRATOR_NAMESPACE, else 'default').",
    )(f)
    f = click.option(
        "--api-key",
        help="Key for a URL target (default: orchestrator.yaml's, else OPENAI_API_KEY; "
        "never printed).",
    )(f)
    f = click.option(
        "--base-url",
        help="Target an Assistants-v2 server at this URL instead of the embedded one "
        "(default: orchestrator.yaml's, else OPENAI_BASE_URL).",
    )(f)
    f = click.option(
        "--project",
        "-C",
        "project_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Project root (default: the nearest folder up with orchestrator.yaml, else the current one).",
    )(f)
    return f


def load_project_or_exit(project_dir: Path | None, paths: tuple[Path, ...] = ()):  # type: ignore[no-untyped-def]
    """Load and validate the project; print every problem and exit 1 if there are any."""
    from orchestrator.project import find_project_root, load_project

    root = project_dir.resolve() if project_dir else find_project_root(Path.cwd())
    project = load_project(root, list(paths) or None)
    for d in project.diagnostics:
        click.echo(d.format(Path.cwd()), err=True)
    if not project.ok:
        n = sum(d.severity == "error" for d in project.diagnostics)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found; fix them and run again.", err=True)
        sys.exit(1)
    return project


def settings_for(project, base_url: str | None, api_key: str | None, namespace: str | None):  # type: ignore[no-untyped-def]
    """The resolved settings of a project command (flags > orchestrator.yaml > env)."""
    from orchestrator.settings import Flags, SettingsError, resolve_settings

    try:
        return resolve_settings(
            project.config, Flags(namespace=namespace, base_url=base_url, api_key=api_key)
        )
    except SettingsError as e:
        raise click.UsageError(str(e)) from None


# --- validate (spec) -----------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--project",
    "-C",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project root (default: the nearest folder up with orchestrator.yaml, else the git root).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the problems as a JSON list of {path, line, column, severity, message}.",
)
def validate(paths: tuple[Path, ...], project_dir: Path | None, as_json: bool) -> None:
    """Check assistant, scenario and cassette files; never touches a server.

    Prints every problem as PATH:LINE:COL: SEVERITY: MESSAGE and exits 1, or a one-line
    summary and exits 0 (warnings do not fail). PATHS (files or folders) limit the check
    to those definitions and what they use.

    \b
    Examples:
      orchestrator validate
      orchestrator validate assistants/quiz-generator.yaml
      orchestrator validate --json > problems.json
    """
    import json

    from orchestrator.project import find_project_root, load_project
    from orchestrator.project.report import summary

    root = project_dir.resolve() if project_dir else find_project_root(Path.cwd())
    project = load_project(root, list(paths) or None)
    cwd = Path.cwd()
    if as_json:
        click.echo(
            json.dumps([d.to_dict(cwd) for d in project.diagnostics], indent=2, ensure_ascii=False)
        )
    else:
        for d in project.diagnostics:
            loc = d.location
            severity = click.style(
                d.severity, fg="red" if d.severity == "error" else "yellow", bold=True
            )
            click.echo(f"{d.display_path(cwd)}:{loc.line}:{loc.column}: {severity}: {d.message}")
        click.echo(click.style(summary(project), fg="green" if project.ok else "red"))
    sys.exit(0 if project.ok else 1)


# --- plan / apply / diff / export / destroy (reconcile) -----------------------------


def _reconcile_options(f):  # type: ignore[no-untyped-def]
    """Options plan/apply/diff share (after project_options)."""
    f = click.option(
        "-j",
        "--parallelism",
        default=8,
        show_default=True,
        type=click.IntRange(1, 64),
        help="Requests in flight at once.",
    )(f)
    f = click.option(
        "--adopt",
        is_flag=True,
        help="Take over an unmanaged assistant with the same name instead of stopping.",
    )(f)
    f = click.option("--prune", is_flag=True, help="Delete managed objects that left the YAML.")(f)
    return project_options(f)


def _echo(obj: Ctx | None, text: str = "", err: bool = False) -> None:
    click.echo(text, err=err, color=obj.color if obj else None)


@cli.command("plan")
@_reconcile_options
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the versioned machine-readable plan.")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan; `orchestrator apply FILE` applies exactly it.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 2: changes, 1: error.")
@click.pass_obj
def plan_command(
    obj: Ctx,
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
    """
    from orchestrator.reconcile import planfile, workflow
    from orchestrator.reconcile.console import connected, reported_errors, target_label
    from orchestrator.reconcile.desired import desired_state
    from orchestrator.reconcile.plan import PlanOptions
    from orchestrator.reconcile.render import render_plan

    project = load_project_or_exit(project_dir, paths)
    settings = settings_for(project, base_url, api_key, namespace)
    target, ns = settings.target, settings.namespace
    with reported_errors(target.describe()), connected(target) as api:
        desired = desired_state(project, ns, partial=bool(paths))
        result = workflow.plan(
            api,
            desired,
            PlanOptions(prune=prune, adopt=adopt),
            target=target_label(target),
            parallelism=parallelism,
        )
    if out is not None:
        out.write_text(planfile.dumps(result), encoding="utf-8")
    if as_json:
        click.echo(planfile.dumps(result), nl=False)
    else:
        _echo(obj, render_plan(result, where=target.describe()))
        if out is not None:
            _echo(
                obj,
                f"\nSaved the plan to {out}. To apply exactly this plan: orchestrator apply {out}",
            )
    if detailed_exitcode and (result.has_changes or result.blocked):
        sys.exit(2)


@cli.command("apply")
@_reconcile_options
@click.argument("args", nargs=-1, type=click.Path(path_type=Path), metavar="[PLAN.json | PATHS...]")
@click.option("-y", "--yes", "--auto-approve", "yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--env",
    "print_env",
    is_flag=True,
    help="Print KEY_ASSISTANT_ID=... lines for .env (other output goes to stderr).",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Set the KEY_ASSISTANT_ID=... lines in this .env file (other lines are kept).",
)
@click.option(
    "--lockfile/--no-lockfile",
    default=True,
    show_default=True,
    help="Write assistants.lock.json (assistants.<namespace>.lock.json outside 'default').",
)
@click.option(
    "--force-unlock", is_flag=True, help="Break the namespace's lock (a crashed apply's)."
)
@click.pass_obj
def apply_command(
    obj: Ctx,
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
    """

    from orchestrator.reconcile import lockfile as lf
    from orchestrator.reconcile import workflow
    from orchestrator.reconcile.apply import ApplyOptions, content_from_disk, content_from_memory
    from orchestrator.reconcile.console import (
        confirm,
        connected,
        fail,
        reported_errors,
        target_label,
    )
    from orchestrator.reconcile.desired import desired_state
    from orchestrator.reconcile.plan import Plan, PlanOptions
    from orchestrator.reconcile.render import ConsoleReporter, render_plan

    saved = len(args) == 1 and args[0].suffix == ".json"
    err = print_env  # with --env, stdout carries only the env lines
    project = load_project_or_exit(project_dir, () if saved else args)
    settings = settings_for(project, base_url, api_key, namespace)
    target = settings.target
    label = target_label(target)
    reporter = ConsoleReporter(sys.stderr if err else sys.stdout, color=obj.color if obj else None)
    options = ApplyOptions(parallelism=parallelism)
    lock = workflow.LockSettings(force=force_unlock)
    with reported_errors(target.describe()), connected(target) as api:
        if saved:
            if prune or adopt:
                fail("--prune and --adopt belong to `plan`; a saved plan already holds them")
            plan = workflow.load_saved_plan(args[0], namespace=namespace, target=label)
            ns = plan.namespace
            _echo(obj, render_plan(plan, where=target.describe()), err=err)
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
            desired = desired_state(project, ns, partial=bool(args))
            plan = workflow.plan(
                api,
                desired,
                PlanOptions(prune=prune, adopt=adopt),
                target=label,
                parallelism=parallelism,
            )
            _echo(obj, render_plan(plan, where=target.describe()), err=err)
            if plan.has_changes and not plan.blocked:
                confirm(
                    f"Do you want to perform these actions in namespace {ns!r}?",
                    yes=yes,
                    action="apply",
                )

            def replanned(fresh: Plan) -> None:
                _echo(obj, "\nThe server changed since the plan; applying the fresh plan:", err=err)
                _echo(obj, render_plan(fresh, where=target.describe()), err=err)

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
        _echo(obj, note, err=err)
    result = outcome.result
    locked = lf.build_lockfile(outcome.plan, result, label)
    if lockfile:
        path = lf.lockfile_path(project.config.root, ns)
        if lf.write_lockfile(path, locked):
            _echo(obj, f"Wrote {path.name}.", err=err)
    lines = lf.env_lines(locked)
    if env_file is not None:
        lf.update_env_file(env_file, lines)
    if result is not None:
        counts = outcome.counts()
        if result.failures:
            _echo(
                obj,
                click.style(
                    f"\nApply failed: {len(result.failures)} change(s) did not go through:",
                    fg="red",
                    bold=True,
                ),
                err=True,
            )
            for f in result.failures:
                _echo(obj, f"  {f}", err=True)
            if result.deletions_skipped:
                _echo(obj, "Deletions were skipped because of these errors.", err=True)
            _echo(obj, "What succeeded is kept; run apply again to finish.", err=True)
            sys.exit(1)
        _echo(
            obj,
            click.style("\nApply complete!", fg="green", bold=True)
            + f" Resources: {counts.added} added, {counts.changed} changed,"
            f" {counts.destroyed} destroyed.",
            err=err,
        )
    if print_env:
        for line in lines:
            click.echo(line)


@cli.command("diff")
@_reconcile_options
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def diff_command(
    obj: Ctx,
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
    from orchestrator.reconcile import workflow
    from orchestrator.reconcile.console import connected, reported_errors, target_label
    from orchestrator.reconcile.desired import desired_state
    from orchestrator.reconcile.plan import PlanOptions
    from orchestrator.reconcile.render import render_diff

    project = load_project_or_exit(project_dir, paths)
    settings = settings_for(project, base_url, api_key, namespace)
    target, ns = settings.target, settings.namespace
    with reported_errors(target.describe()), connected(target) as api:
        desired = desired_state(project, ns, partial=bool(paths))
        result = workflow.plan(
            api,
            desired,
            PlanOptions(prune=prune, adopt=adopt),
            target=target_label(target),
            parallelism=parallelism,
        )
    _echo(obj, render_diff(result))
    if any(c.action != "noop" for c in result.changes):
        sys.exit(2)


@cli.command("export")
@project_options
@click.argument("select", nargs=-1, metavar="[ID|KEY|NAME]...")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the YAML (default: the project's first assistants folder).",
)
@click.option("--managed-only", is_flag=True, help="Only assistants this namespace manages.")
@click.option("--unmanaged-only", is_flag=True, help="Only assistants nobody manages yet.")
@click.option(
    "--no-files", is_flag=True, help="Do not download code-interpreter / file-search files."
)
@click.option("--force", is_flag=True, help="Overwrite files that exist and differ.")
@click.pass_obj
def export_command(
    obj: Ctx,
    select: tuple[str, ...],
    project_dir: Path | None,
    base_url: str | None,
    api_key: str | None,
    namespace: str | None,
    output: Path | None,
    managed_only: bool,
    unmanaged_only: bool,
    no_files: bool,
    force: bool,
) -> None:
    """Write YAML (and function JSON, prompts, files) for assistants on the server.

    Brings existing assistants under management: export, review, then
    `orchestrator apply --adopt`. Assistants managed by other namespaces are left out.

    \b
    Examples:
      orchestrator export
      orchestrator export asst_abc123 -o assistants/imported
    """
    from orchestrator.reconcile.console import connected, fail, reported_errors
    from orchestrator.reconcile.export import ExportOptions, export_assistants

    if managed_only and unmanaged_only:
        fail("--managed-only and --unmanaged-only exclude each other")
    project = load_project_or_exit(project_dir)
    settings = settings_for(project, base_url, api_key, namespace)
    target, ns = settings.target, settings.namespace
    root = project.config.root
    out = (output or root / project.config.assistants_paths[0]).resolve()
    options = ExportOptions(
        out_dir=out,
        select=list(select),
        include_managed=not unmanaged_only,
        include_unmanaged=not managed_only,
        download_files=not no_files,
        overwrite=force,
    )
    with reported_errors(target.describe()), connected(target) as api:
        report = export_assistants(api, ns, root, options)
    for path in report.written:
        _echo(obj, f"wrote {path.relative_to(root) if path.is_relative_to(root) else path}")
    for w in report.warnings:
        _echo(obj, click.style("Warning: ", fg="yellow", bold=True) + w, err=True)
    n = len(report.assistants)
    _echo(obj, f"Exported {n} assistant{'s' if n != 1 else ''} to {out}.")


@cli.command("destroy")
@project_options
@click.option("-y", "--yes", "--auto-approve", "yes", is_flag=True, help="Destroy without asking.")
@click.option(
    "--force-unlock", is_flag=True, help="Break the namespace's lock (a crashed apply's)."
)
@click.option("-j", "--parallelism", default=8, show_default=True, type=click.IntRange(1, 64))
@click.pass_obj
def destroy_command(
    obj: Ctx,
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
    from orchestrator.reconcile import lockfile as lf
    from orchestrator.reconcile import workflow
    from orchestrator.reconcile.apply import ApplyOptions
    from orchestrator.reconcile.console import confirm, connected, reported_errors, target_label
    from orchestrator.reconcile.desired import DesiredState
    from orchestrator.reconcile.render import ConsoleReporter, render_plan

    project = load_project_or_exit(project_dir)
    settings = settings_for(project, base_url, api_key, namespace)
    target, ns = settings.target, settings.namespace
    with reported_errors(target.describe()), connected(target) as api:
        plan = workflow.destroy_plan(api, ns, target=target_label(target), parallelism=parallelism)
        _echo(obj, render_plan(plan, where=target.describe()))
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
            reporter=ConsoleReporter(color=obj.color if obj else None),
            operation="destroy",
        )
    for note in outcome.notes:
        _echo(obj, note)
    result = outcome.result
    if result is not None and result.failures:
        for f in result.failures:
            _echo(obj, f"  {f}", err=True)
        _echo(obj, "Destroy failed in part; run it again to finish.", err=True)
        sys.exit(1)
    lf.lockfile_path(project.config.root, ns).unlink(missing_ok=True)
    n = len(result.results) if result else 0
    _echo(
        obj,
        click.style("\nDestroy complete!", fg="green", bold=True) + f" Resources: {n} destroyed.",
    )


# --- test (scenarios) ------------------------------------------------------------------


@cli.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@project_options
@click.option("--poll", is_flag=True, help="Poll runs instead of streaming them (SSE).")
@click.option(
    "-j",
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Scenarios to run at once (turns within a scenario stay in order).",
)
@click.option(
    "--repeat",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Run each scenario N times and report its pass rate (flakiness).",
)
@click.option(
    "--timeout",
    "turn_timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds per turn, unless the turn sets `timeout:`.",
)
@click.option(
    "--scenario-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds per scenario, unless the scenario sets `timeout:`.",
)
@click.option(
    "--record",
    "cassette_mode",
    flag_value="record",
    help="Save each passing scenario's cassette next to it (<file>.cassette.yaml). File-search "
    "calls are recorded with the user's message as the query: the API does not expose it.",
)
@click.option(
    "--replay",
    "cassette_mode",
    flag_value="replay",
    help="Replay cassettes (the default for the embedded target when one exists).",
)
@click.option(
    "--live", "cassette_mode", flag_value="live", help="Ignore cassettes; talk to the model."
)
@click.option("-k", "keyword", help="Only scenarios whose name contains this text.")
@click.option(
    "--tag", "tags", multiple=True, help="Only scenarios with this tag (repeatable: any of them)."
)
@click.option(
    "--transcript",
    "transcript_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a Markdown transcript per scenario into this folder.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JSON report.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JUnit XML report.",
)
@click.option(
    "--keep-threads",
    is_flag=True,
    help="Keep each scenario's thread on the server (for debugging).",
)
@click.option("-v", "--verbose", "verbose", count=True, help="A line per turn as well.")
@click.pass_obj
def test_command(
    obj: Ctx,
    paths: tuple[Path, ...],
    project_dir: Path | None,
    base_url: str | None,
    api_key: str | None,
    namespace: str | None,
    poll: bool,
    jobs: int,
    repeat: int,
    turn_timeout: float,
    scenario_timeout: float | None,
    cassette_mode: str | None,
    keyword: str | None,
    tags: tuple[str, ...],
    transcript_dir: Path | None,
    json_path: Path | None,
    junit_path: Path | None,
    keep_threads: bool,
    verbose: int,
) -> None:
    """Run scenarios: scripted conversations with their expectations.

    Exit code 0 when all passed, 1 when some failed, 2 on errors (a bad scenario, an
    assistant that was never applied, an unreachable server).

    \b
    Examples:
      orchestrator test                                  # every scenario of the project
      orchestrator test scenarios/quiz-feedback.yaml -v  # one file, a line per turn
      orchestrator test -j 8 --junit report.xml          # CI
      orchestrator test --record                         # save cassettes; later runs replay them
    """
    from orchestrator.scenarios import reports
    from orchestrator.scenarios.progress import make_reporter
    from orchestrator.scenarios.runner import RunnerOptions, run_scenarios, select_scenarios

    try:
        project = load_project_or_exit(project_dir, paths)
    except SystemExit as exc:
        # A scenario that cannot be loaded is an error of the run (2), not a failure (1).
        sys.exit(2 if exc.code else 0)
    scenarios = select_scenarios(project.scenarios, keyword=keyword, tags=tags)
    if not scenarios:
        click.echo("No scenarios to run (check PATHS, -k and --tag).", err=True)
        sys.exit(2)
    settings = settings_for(project, base_url, api_key, namespace)
    target = settings.target
    options = RunnerOptions(
        stream=not poll,
        jobs=jobs,
        repeat=repeat,
        turn_timeout=turn_timeout,
        scenario_timeout=scenario_timeout,
        cassettes=cassette_mode or "auto",  # type: ignore[arg-type]
        namespace=settings.namespace,
        keep_threads=keep_threads,
        embedded=target.kind == "embedded",
        api=target.api,
    )
    color = obj.color if obj and obj.color is not None else None
    reporter = make_reporter(verbose=bool(verbose or (obj and obj.verbose)), color=color)
    use_color = color if color is not None else sys.stdout.isatty()
    from orchestrator.targets import connect

    try:
        with connect(target) as client:
            report = run_scenarios(
                scenarios,
                client,
                options,
                root=project.config.root,
                reporter=reporter,
                target=target.describe(),
            )
    except KeyboardInterrupt:
        click.echo("\nInterrupted: the runs in progress were cancelled.", err=True)
        sys.exit(130)
    except OSError as exc:
        click.echo(f"error: could not start or reach {target.describe()}: {exc}", err=True)
        sys.exit(2)
    if transcript_dir:
        reports.write_transcripts(report, transcript_dir)
    if json_path:
        reports.write_json(report, json_path)
    if junit_path:
        reports.write_junit(report, junit_path, project.config.root)
    click.echo("")
    click.echo(reports.summary(report, color=use_color))
    sys.exit(report.exit_code)


# --- serve -------------------------------------------------------------------------


@cli.command()
@click.option(
    "--project",
    "-C",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project whose state and `server:` settings to serve (default: the nearest folder "
    "up with orchestrator.yaml, else the current one).",
)
@click.option("--host", default=None, help="Interface to bind.  [default: 127.0.0.1]")
@click.option("--port", default=None, type=int, help="Port (0: any free one).  [default: 8000]")
@click.option(
    "--db",
    "db_path",
    default=None,
    help="SQLite database file; ':memory:' keeps nothing.  "
    "[default: <project>/.orchestrator/server.sqlite3]",
)
@click.option(
    "--api-key",
    help="Bearer token clients must send (env ORCHESTRATOR_API_KEY). Required off loopback.",
)
@click.option(
    "--model-provider",
    type=click.Choice(["local", "chat"]),
    default=None,
    help="local: deterministic offline model; chat: forward to a /v1/chat/completions "
    "endpoint (orchestrator.yaml server.model_provider, env ORCHESTRATOR_MODEL_PROVIDER).  "
    "[default: local]",
)
@click.option(
    "--upstream-base-url",
    help="chat provider: upstream base URL (env ORCHESTRATOR_UPSTREAM_BASE_URL).",
)
@click.option(
    "--upstream-api-key",
    help="chat provider: upstream key (env ORCHESTRATOR_UPSTREAM_API_KEY; never logged).",
)
@click.option(
    "--model-map",
    "model_map",
    multiple=True,
    metavar="ASSISTANT_MODEL=UPSTREAM_MODEL",
    help="chat provider: map an assistant's model name to the upstream's (repeatable; "
    "'*=NAME' maps every other name; env ORCHESTRATOR_MODEL_MAP, space-separated).",
)
@click.option(
    "--upstream-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="chat provider: seconds to wait for the upstream to connect or send the next "
    "piece.  [default: 120]",
)
@click.option(
    "--upstream-max-retries",
    type=click.IntRange(min=0),
    default=None,
    help="chat provider: retries after a 429, 5xx, timeout or connection error.  [default: 3]",
)
@click.option(
    "--upstream-max-tool-rounds",
    type=click.IntRange(min=1),
    default=None,
    help="chat provider: rounds of tool calls a run may take before it fails.  [default: 8]",
)
@click.option(
    "--run-expiry-seconds",
    type=click.IntRange(min=1),
    default=None,
    help="A run not finished this long after it was created expires (OpenAI: 10 minutes).  "
    "[default: 600]",
)
@click.option(
    "--max-concurrent-runs",
    type=click.IntRange(min=1),
    default=None,
    help="Runs executed at once; more wait queued.  [default: 16]",
)
@click.option(
    "--sandbox-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Code interpreter: seconds one execution may run before it is killed.  [default: 30]",
)
@click.option(
    "--sandbox-memory-mb",
    type=click.IntRange(min=32),
    default=None,
    help="Code interpreter: memory one execution may use.  [default: 512]",
)
@click.option(
    "--sandbox-isolation",
    type=click.Choice(["auto", "weak", "namespaces", "user-namespaces", "audit-hook"]),
    default=None,
    help="Code interpreter: auto = the strongest isolation this machine has, and no code "
    "interpreter if that is only the weak audit-hook mode (which exposes the server's files "
    "and keys to model code); weak = run code in that mode rather than not at all.  "
    "[default: auto]",
)
def serve(project_dir: Path | None, model_map: tuple[str, ...], **options: object) -> None:
    """Run the embedded Assistants API v2 server in the foreground.

    Inside a project it serves the project's state (.orchestrator/) with its `server:`
    settings; flags win over orchestrator.yaml, which wins over ORCHESTRATOR_* variables.
    """
    from orchestrator.project import find_project_root
    from orchestrator.server.tools.code_interpreter import probe_isolation, refusal
    from orchestrator.settings import Flags, SettingsError, resolve_settings
    from orchestrator.targets import EmbeddedServer

    root = project_dir.resolve() if project_dir else find_project_root(Path.cwd())
    options["server_api_key"] = options.pop("api_key")
    try:
        settings = resolve_settings(root, Flags(model_map=model_map or None, **options))  # type: ignore[arg-type]
    except SettingsError as e:
        raise click.UsageError(str(e)) from None
    config = settings.server
    state = config.db_path or ":memory:"
    try:
        server = EmbeddedServer(config)
    except OSError as e:
        raise click.ClickException(
            f"could not serve on {config.host}:{config.port} with state {state}: {e}"
        ) from None
    isolation = probe_isolation(config.sandbox.isolation)
    sandbox = isolation.mode if isolation.allowed else "disabled"
    click.echo(
        f"Assistants API v2 server on {server.base_url} (state: {state}, model: "
        f"{config.model_provider}, code interpreter sandbox: {sandbox})"
    )
    if not config.api_key:
        click.echo("No --api-key: any key is accepted; serving loopback only.")
    if not isolation.allowed:
        click.echo(f"WARNING: {refusal(isolation)}.")
    elif not isolation.network_isolated:
        click.echo(f"WARNING: code interpreter sandbox {isolation.mode}: {isolation.detail}")
    sys.stdout.flush()
    server.start()
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def main() -> None:
    os.environ.setdefault("PYTHONUTF8", "1")
    cli(prog_name="orchestrator")


if __name__ == "__main__":
    main()
