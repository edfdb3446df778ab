"""Options shared by several commands (one definition each, so help and defaults agree)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from orchestrator.cli.exit_codes import USAGE

F = TypeVar("F", bound=Callable[..., Any])


class GlobalOptions:
    """`orchestrator -v --no-color ...`: the options before the command name."""

    def __init__(self, verbose: int, color: bool | None) -> None:
        self.verbose = verbose
        self.color = color

    def echo(self, text: str = "", err: bool = False) -> None:
        click.echo(text, err=err, color=self.color)


COLOR_PARAM = "color"
COLOR_HELP = "Force colours on or off (default: on a TTY, unless NO_COLOR is set or TERM=dumb)."


def color_disabled_by(environ: Mapping[str, str]) -> bool:
    """NO_COLOR (any non-empty value, see no-color.org) or a dumb terminal."""
    return bool(environ.get("NO_COLOR")) or environ.get("TERM") == "dumb"


def _set_color(ctx: click.Context, _: click.Parameter, value: bool | None) -> None:
    # `orchestrator plan --no-color`: the same as before the command name.
    if value is None:
        return
    ctx.color = value
    options = ctx.find_object(GlobalOptions)
    if options is not None:
        options.color = value


def color_option() -> click.Option:
    """``--color/--no-color`` after a command's name (the group takes it before)."""
    return click.Option(
        ["--color/--no-color", COLOR_PARAM],
        default=None,
        expose_value=False,
        callback=_set_color,
        help=COLOR_HELP,
    )


@contextmanager
def usage_exit_code() -> Iterator[None]:
    """Make click's usage errors exit :data:`USAGE`, not click's 2 (= "changes present")."""
    try:
        yield
    except click.UsageError as e:
        e.exit_code = USAGE
        raise


def project_dir_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--project",
        "-C",
        "project_dir",
        # exists=True: a typo'd -C must not become a new, empty project that has "No
        # changes" (commands create state and a lock file in it).
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help=help,
    )


def project_root(project_dir: Path | None) -> Path:
    """`-C DIR`, else the nearest folder up with orchestrator.yaml (else the git root)."""
    # Imported here: the loader brings jsonschema, which `orchestrator --help` never needs.
    from orchestrator.project import find_project_root

    return project_dir.resolve() if project_dir else find_project_root(Path.cwd())


PROJECT_HELP = (
    "Project root (default: the nearest folder up with orchestrator.yaml, else the git root)."
)


API_META = "orchestrator.api"


def _remember_api(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    # Every project command takes --api; session.settings_for reads it from here.
    if value is not None:
        ctx.meta[API_META] = value


def project_options(f: F) -> F:
    """Options of every command that works on a project and a target.

    None of them reads the environment here: :mod:`orchestrator.settings` does, after
    orchestrator.yaml (flags > orchestrator.yaml > env > defaults).
    """
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
        "--api",
        type=click.Choice(["assistants", "openai"]),
        expose_value=False,
        callback=_remember_api,
        help="The API the target speaks: assistants (Assistants v2) or openai (OpenAI today: "
        "files, vector stores, Managed Agents, Responses). Default: orchestrator.yaml's, "
        "else assistants.",
    )(f)
    f = click.option(
        "--base-url",
        help="Target an Assistants-v2 server at this URL instead of the embedded one "
        "(default: orchestrator.yaml's, else OPENAI_BASE_URL).",
    )(f)
    return project_dir_option(PROJECT_HELP)(f)


def parallelism_option(f: F) -> F:
    return click.option(
        "-j",
        "--parallelism",
        default=8,
        show_default=True,
        type=click.IntRange(1, 64),
        help="Requests in flight at once.",
    )(f)


def force_unlock_option(f: F) -> F:
    return click.option(
        "--force-unlock", is_flag=True, help="Break the namespace's lock (a crashed apply's)."
    )(f)


def reconcile_options(f: F) -> F:
    """Options plan/apply/diff share."""
    f = parallelism_option(f)
    f = click.option(
        "--adopt",
        is_flag=True,
        help="Take over an unmanaged assistant with the same name instead of stopping.",
    )(f)
    f = click.option("--prune", is_flag=True, help="Delete managed objects that left the YAML.")(f)
    return project_options(f)
