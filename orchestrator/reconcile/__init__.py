"""Reconcile a server with the YAML — plan, apply, diff, export, destroy — idempotently.

What the CLI does, as a library::

    from orchestrator.project import load_project
    from orchestrator.reconcile import Api, content_from_memory, desired_state, workflow
    from orchestrator.settings import resolve_settings
    from orchestrator.targets import connect

    project = load_project(root)
    settings = resolve_settings(project.config)  # flags > orchestrator.yaml > env
    desired = desired_state(project, settings.namespace)
    with connect(settings.target) as client:
        api = Api(client)
        plan = workflow.plan(api, desired)
        contents = {sha: f.content or b"" for sha, f in desired.files.items()}
        outcome = workflow.apply(api, plan, content_from_memory(contents), desired=desired)

Modules: :mod:`.desired` (YAML → objects), :mod:`.actual` (list the server; with
:mod:`.recover` for what an interrupted apply left), :mod:`.normalise` (comparable forms),
:mod:`.planner` (``make_plan``: desired vs. actual, pure), :mod:`.plan` (the plan model),
:mod:`.planfile` (its JSON form), :mod:`.apply` (execute), :mod:`.workflow` (plan / apply
under the lease / destroy), :mod:`.lease`, :mod:`.journal`, :mod:`.lockfile`,
:mod:`.export`. Ownership rules: :mod:`orchestrator.ownership`. Human
output lives in :mod:`orchestrator.cli.views`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Api",
    "ApplyOutcome",
    "DesiredState",
    "Plan",
    "PlanOptions",
    "ReconcileError",
    "content_from_disk",
    "content_from_memory",
    "desired_state",
    "workflow",
]

if TYPE_CHECKING:
    from orchestrator.reconcile import workflow
    from orchestrator.reconcile.api import Api
    from orchestrator.reconcile.apply import content_from_disk, content_from_memory
    from orchestrator.reconcile.desired import DesiredState, desired_state
    from orchestrator.reconcile.errors import ReconcileError
    from orchestrator.reconcile.plan import Plan, PlanOptions
    from orchestrator.reconcile.workflow import ApplyOutcome

_LAZY = {
    "Api": "orchestrator.reconcile.api",
    "content_from_disk": "orchestrator.reconcile.apply",
    "content_from_memory": "orchestrator.reconcile.apply",
    "DesiredState": "orchestrator.reconcile.desired",
    "desired_state": "orchestrator.reconcile.desired",
    "ReconcileError": "orchestrator.reconcile.errors",
    "Plan": "orchestrator.reconcile.plan",
    "PlanOptions": "orchestrator.reconcile.plan",
    "ApplyOutcome": "orchestrator.reconcile.workflow",
}


def __getattr__(name: str) -> Any:
    # Lazy, so importing one submodule does not pull in the SDK-heavy rest. The entry
    # points are `workflow.plan` / `workflow.apply` (`plan` and `apply` are submodules).
    if name == "workflow":
        return importlib.import_module("orchestrator.reconcile.workflow")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'orchestrator.reconcile' has no attribute {name!r}")
