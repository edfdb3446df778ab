"""`orchestrator test`: run scenarios and report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.arguments import GlobalOptions, project_options
from orchestrator.cli.exit_codes import INTERRUPTED, TEST_ERROR
from orchestrator.cli.session import load_project_or_exit, settings_for
from orchestrator.cli.views.scenarios import make_reporter, summary
from orchestrator.scenarios import reports
from orchestrator.scenarios.runner import RunnerOptions, run_scenarios, select_scenarios
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
    # A scenario that cannot be loaded is an error of the run (2), not a failure (1).
    project = load_project_or_exit(project_dir, paths, code=TEST_ERROR)
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
    color = obj.color
    reporter = make_reporter(verbose=bool(verbose or obj.verbose), color=color)
    use_color = color if color is not None else sys.stdout.isatty()
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
        sys.exit(INTERRUPTED)
    except OSError as exc:
        click.echo(f"error: could not start or reach {target.describe()}: {exc}", err=True)
        sys.exit(TEST_ERROR)
    if transcript_dir:
        reports.write_transcripts(report, transcript_dir)
    if json_path:
        reports.write_json(report, json_path)
    if junit_path:
        reports.write_junit(report, junit_path, project.config.root)
    click.echo("")
    click.echo(summary(report, color=use_color))
    sys.exit(report.exit_code)
