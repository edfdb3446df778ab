"""`orchestrator test`: run scenarios and report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import openai

from orchestrator.cli.arguments import GlobalOptions, project_options
from orchestrator.cli.exit_codes import INTERRUPTED, TEST_ERROR
from orchestrator.cli.session import applied_lockfile, load_project_or_exit, settings_for
from orchestrator.cli.views.apply import sync_line
from orchestrator.cli.views.errors import fail, reported_errors
from orchestrator.cli.views.scenarios import drift_refusal, make_reporter, summary
from orchestrator.project import Project
from orchestrator.project.specs import ScenarioSpec
from orchestrator.reconcile import lockfile as lf
from orchestrator.reconcile import workflow
from orchestrator.reconcile.desired import desired_state
from orchestrator.reconcile.drift import differences
from orchestrator.reconcile.platform import reconcile_api
from orchestrator.scenarios import reports
from orchestrator.scenarios.runner import RunnerOptions, run_scenarios, select_scenarios
from orchestrator.settings import Settings
from orchestrator.targets import connect


@click.command("test")
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
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write a JSON report (versioned: format_version); '-' prints it on stdout, and "
    "everything else goes to stderr.",
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
@click.option(
    "--allow-drift",
    is_flag=True,
    help="Play the scenarios against the assistants as they are: no sync of the embedded "
    "server, no check that a URL target's assistants match the YAML.",
)
@click.option("-v", "--verbose", "verbose", count=True, help="A line per turn as well.")
@click.pass_obj
def test_command(
    obj: GlobalOptions,
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
    allow_drift: bool,
    verbose: int,
) -> None:
    """Run scenarios: scripted conversations with their expectations.

    The scenarios play against what the YAML says: on the embedded target the project
    is applied first (one line says what changed); on a URL target the command refuses
    (exit 2) when the assistants there differ from the YAML, naming assistant and field
    (`orchestrator apply` first, or --allow-drift).

    Exit code 0 when all passed, 1 when some failed, 2 on errors (a bad scenario, drift,
    an unreachable server or model endpoint).

    \b
    Examples:
      orchestrator test                                  # every scenario of the project
      orchestrator test scenarios/quiz-feedback.yaml -v  # one file, a line per turn
      orchestrator test -j 8 --junit report.xml          # CI
      orchestrator test --json - | jq .summary
      orchestrator test --record                         # save cassettes; later runs replay them
    """
    # A scenario that cannot be loaded is an error of the run (2), not a failure (1).
    project = load_project_or_exit(project_dir, paths, code=TEST_ERROR, scenarios=True)
    scenarios = select_scenarios(project.scenarios, keyword=keyword, tags=tags)
    if not scenarios:
        click.echo("No scenarios to run (check PATHS, -k and --tag).", err=True)
        sys.exit(TEST_ERROR)
    settings = settings_for(project, base_url, api_key, namespace, code=TEST_ERROR)
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
    json_stdout = json_path == Path("-")
    out = sys.stderr if json_stdout else sys.stdout  # with `--json -`, stdout is the JSON's
    color = obj.color
    reporter = make_reporter(out, verbose=bool(verbose or obj.verbose), color=color)
    use_color = color if color is not None else out.isatty()
    try:
        # With -j > 1 the runner's threads keep this interpreter busy: the embedded server
        # gets its own process (and core).
        with connect(target, own_process=jobs > 1) as client:
            if not allow_drift:
                _match_the_yaml(
                    client, project, settings, scenarios, partial=bool(paths), err=json_stdout
                )
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
        sys.exit(INTERRUPTED)
    except OSError as exc:
        click.echo(f"error: could not start or reach {target.describe()}: {exc}", err=True)
        sys.exit(TEST_ERROR)
    if transcript_dir:
        reports.write_transcripts(report, transcript_dir)
    if json_stdout:
        click.echo(reports.dumps_json(report), nl=False)
    elif json_path:
        reports.write_json(report, json_path)
    if junit_path:
        reports.write_junit(report, junit_path, project.config.root)
    click.echo("", err=json_stdout)
    click.echo(summary(report, color=use_color), err=json_stdout)
    sys.exit(report.exit_code)


def _match_the_yaml(
    client: openai.OpenAI,
    project: Project,
    settings: Settings,
    scenarios: list[ScenarioSpec],
    *,
    partial: bool,
    err: bool,
) -> None:
    """Embedded target: apply the project (its server is the project's own). URL target:
    refuse when the scenarios' assistants there are not what the YAML says."""
    target = settings.target
    where = target.describe()
    with reported_errors(where, TEST_ERROR):
        api = reconcile_api(client, target.api)
        desired = desired_state(project, settings.namespace, partial=partial, api=target.api)
        if target.kind == "embedded":
            outcome = workflow.sync(api, desired, target=target.label)
            if outcome.result is not None and outcome.result.failures:
                fail(
                    "could not apply the YAML to the embedded server before the test:\n  "
                    + "\n  ".join(outcome.result.failures),
                    TEST_ERROR,
                )
            click.echo(sync_line(outcome), err=err)
            # As apply: the lock file holds what the scenarios then find (ids, profiles).
            path = lf.lockfile_path(project.config.root, settings.namespace)
            if lf.write_lockfile(path, applied_lockfile(project, outcome, target)):
                click.echo(f"Wrote {path.name}.", err=err)
            return
        plan = workflow.plan(api, desired, target=target.label)
    found = differences(plan, desired, {s.assistant for s in scenarios})
    if found:
        fail(drift_refusal(found, where), TEST_ERROR)
