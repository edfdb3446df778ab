"""`orchestrator init`: start a project of your own."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.views.errors import fail
from orchestrator.project.scaffold import CI_PROVIDERS, ScaffoldError, scaffold


@click.command("init")
@click.argument("directory", default=".", type=click.Path(path_type=Path))
@click.option(
    "--ci",
    type=click.Choice(CI_PROVIDERS),
    default=None,
    help="Also write a CI workflow: validate + offline test on every push, plan "
    "--detailed-exitcode on pull requests, apply --yes on merge to main.",
)
def init_command(directory: Path, ci: str | None) -> None:
    """Create a project in DIRECTORY (default: here): orchestrator.yaml, an example
    assistant, scenario and handler, the JSON Schemas the YAML files point at, and a
    .gitignore entry for .orchestrator/. Never overwrites a file.

    \b
    Examples:
      orchestrator init my-assistants --ci github
      cd my-assistants && orchestrator validate && orchestrator apply --yes && orchestrator test
    """
    try:
        result = scaffold(directory, ci)
    except ScaffoldError as e:
        fail(str(e))
    except OSError as e:
        fail(f"could not write the project in {directory}: {e}")
    for path in result.created:
        click.echo(f"created {path}")
    for path in result.updated:
        click.echo(f"updated {path}")
    where = "" if directory == Path(".") else f"cd {directory} && "
    click.echo(
        click.style(
            f"Project ready. Next: {where}orchestrator apply --yes && orchestrator test", fg="green"
        )
    )
