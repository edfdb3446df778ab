"""What every project command does before its own work: load the project, resolve the
settings, connect to the target. Problems end the command with one clear message."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from orchestrator.cli.arguments import API_META, project_root
from orchestrator.cli.exit_codes import ERROR
from orchestrator.cli.views.errors import echo_problems, fail, reported_errors
from orchestrator.cli.views.json_text import diagnostics, dumps
from orchestrator.project import Project, load_project, load_project_config
from orchestrator.reconcile import lockfile as lf
from orchestrator.reconcile import workflow
from orchestrator.reconcile.api import Api
from orchestrator.reconcile.desired import DesiredState, desired_state
from orchestrator.reconcile.plan import Plan, PlanOptions
from orchestrator.reconcile.platform import reconcile_api
from orchestrator.reconcile.workflow import ApplyOutcome
from orchestrator.redaction import log_redaction, url_secrets
from orchestrator.settings import Flags, Settings, SettingsError, resolve_settings
from orchestrator.targets import Target, connect


def load_project_or_exit(
    project_dir: Path | None,
    paths: tuple[Path, ...] = (),
    *,
    code: int = ERROR,
    as_json: bool = False,
    scenarios: bool = False,
) -> Project:
    """Load and validate the project; print every problem and exit ``code`` if any
    (``as_json``: also as ``validate --json``'s list on stdout, for the scripts reading it).
    ``scenarios``: the command plays scenarios, so their warnings are its business."""
    project = load_project(project_root(project_dir), list(paths) or None)
    echo_problems(project, Path.cwd(), scenarios=scenarios)
    if not project.ok:
        if as_json:
            click.echo(dumps(diagnostics(project, Path.cwd())))
        sys.exit(code)
    return project


def load_config_or_exit(project_dir: Path | None) -> Project:
    """Only orchestrator.yaml, for commands that write definitions rather than read them
    (`export`): a project without assistant files yet, or with broken ones, is fine."""
    config, problems = load_project_config(project_root(project_dir))
    project = Project(config=config, diagnostics=problems)
    echo_problems(project, Path.cwd())
    if not project.ok:
        sys.exit(ERROR)
    return project


def settings_for(
    project: Project,
    base_url: str | None,
    api_key: str | None,
    namespace: str | None,
    *,
    code: int = ERROR,
) -> Settings:
    """The resolved settings of a project command (flags > orchestrator.yaml > env).

    A bad setting ends the command with ``code``: an error (1), never the 2 that means
    "changes" to `plan --detailed-exitcode` and `diff`.
    """
    try:
        api = click.get_current_context().meta.get(API_META)
        settings = resolve_settings(
            project.config,
            Flags(namespace=namespace, base_url=base_url, api_key=api_key, api=api),
        )
    except SettingsError as e:
        fail(str(e), code)
    target = settings.target
    log_redaction.add(target.api_key, *url_secrets(target.base_url))
    return settings


@contextmanager
def connected(target: Target, timeout: float = 60.0) -> Iterator[Api]:
    """An :class:`Api` on the target (starts the embedded server when that is the target)."""
    stack = ExitStack()
    try:
        client = stack.enter_context(connect(target))
    except OSError as e:
        fail(f"could not start or reach {target.describe()}: {e}")
    with stack:
        yield reconcile_api(client, target.api, timeout=timeout)


def plan_project(
    api: Api,
    project: Project,
    settings: Settings,
    options: PlanOptions,
    *,
    partial: bool,
    parallelism: int,
) -> tuple[DesiredState, Plan]:
    """The YAML's desired state in the settings' namespace, and the plan to reach it."""
    desired = desired_state(project, settings.namespace, partial=partial, api=settings.target.api)
    plan = workflow.plan(
        api, desired, options, target=settings.target.label, parallelism=parallelism
    )
    return desired, plan


def plan_paths(
    project_dir: Path | None,
    paths: tuple[Path, ...],
    *,
    base_url: str | None,
    api_key: str | None,
    namespace: str | None,
    options: PlanOptions,
    parallelism: int,
    as_json: bool = False,
) -> tuple[Settings, Plan]:
    """What `plan` and `diff` share: load, resolve, connect, plan (read-only)."""
    project = load_project_or_exit(project_dir, paths, as_json=as_json)
    settings = settings_for(project, base_url, api_key, namespace)
    with reported_errors(settings.target.describe()), connected(settings.target) as api:
        _, plan = plan_project(
            api, project, settings, options, partial=bool(paths), parallelism=parallelism
        )
    return settings, plan


def applied_lockfile(project: Project, outcome: ApplyOutcome, target: Target) -> lf.LockFile:
    """The lock file after an apply (or a sync) on ``target``: ids and Responses profiles."""
    locked = lf.build_lockfile(outcome.plan, outcome.result, target.label)
    return lf.with_profiles(locked, project.assistants, target.api)
