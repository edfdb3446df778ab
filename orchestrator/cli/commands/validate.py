"""`orchestrator validate`: check the YAML without a server."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.arguments import PROJECT_HELP, project_dir_option, project_root
from orchestrator.cli.views.json_text import diagnostics, dumps
from orchestrator.project import load_project
from orchestrator.project.report import summary


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_dir_option(PROJECT_HELP)
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
    root = project_root(project_dir)
    project = load_project(root, list(paths) or None)
    cwd = Path.cwd()
    if as_json:
        click.echo(dumps(diagnostics(project, cwd)))
    else:
        for d in project.diagnostics:
            loc = d.location
            severity = click.style(
                d.severity, fg="red" if d.severity == "error" else "yellow", bold=True
            )
            click.echo(f"{d.display_path(cwd)}:{loc.line}:{loc.column}: {severity}: {d.message}")
        click.echo(click.style(summary(project), fg="green" if project.ok else "red"))
    sys.exit(0 if project.ok else 1)
