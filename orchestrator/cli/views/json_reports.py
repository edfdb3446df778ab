"""``--json`` documents of apply, diff and destroy (printed with :func:`.json_text.dumps`).

Each document carries ``format_version`` (:data:`RESULT_FORMAT_VERSION`; a plan inside
carries the plan file's own) so scripts can tell a shape they do not know. ``plan
--json`` prints the plan file's form (:mod:`orchestrator.reconcile.planfile`); ``test
--json`` the run report (:mod:`orchestrator.scenarios.reports`).
"""

from __future__ import annotations

from typing import Any

from orchestrator.reconcile.plan import Change, Plan
from orchestrator.reconcile.planfile import plan_to_json
from orchestrator.reconcile.workflow import ApplyOutcome

# 1: apply / diff / destroy results as below.
RESULT_FORMAT_VERSION = 1


def _change(c: Change) -> dict[str, Any]:
    return {"kind": c.kind, "key": c.key, "label": c.label, "action": c.action, "id": c.id}


def apply_json(outcome: ApplyOutcome, *, lockfile: str | None) -> dict[str, Any]:
    """What an apply did: the plan it executed, and each change's outcome."""
    plan = outcome.plan
    result = outcome.result
    counts = outcome.counts()
    return {
        "format_version": RESULT_FORMAT_VERSION,
        "command": "apply",
        "namespace": plan.namespace,
        "target": plan.target,
        "applied": result is not None,
        "replanned": outcome.replanned,
        "summary": {
            "added": counts.added,
            "changed": counts.changed,
            "destroyed": counts.destroyed,
            "failed": len(result.failures) if result else 0,
        },
        "changes": [
            {
                **_change(c),
                "ok": r.ok,
                "id": r.id or c.id,
                "error": r.error,
                "seconds": round(r.seconds, 3),
                "recovered": r.recovered,
            }
            for c, r in (result.results if result else [])
        ],
        "failures": result.failures if result else [],
        "deletions_skipped": bool(result and result.deletions_skipped),
        "notes": outcome.notes,
        "lockfile": lockfile,
        "plan": plan_to_json(plan),
    }


def destroy_json(outcome: ApplyOutcome | None, plan: Plan) -> dict[str, Any]:
    """What a destroy deleted (nothing when the namespace was empty)."""
    result = outcome.result if outcome else None
    return {
        "format_version": RESULT_FORMAT_VERSION,
        "command": "destroy",
        "namespace": plan.namespace,
        "target": plan.target,
        "destroyed": [
            {**_change(c), "id": r.id or c.id}
            for c, r in (result.results if result else [])
            if r.ok
        ],
        "failures": result.failures if result else [],
        "notes": outcome.notes if outcome else [],
    }


def diff_json(plan: Plan) -> dict[str, Any]:
    """Every object that differs, field by field (server ``before``, YAML ``after``)."""
    differing = [c for c in plan.changes if c.action != "noop"]
    return {
        "format_version": RESULT_FORMAT_VERSION,
        "command": "diff",
        "namespace": plan.namespace,
        "target": plan.target,
        "has_differences": bool(differing),
        "warnings": plan.warnings,
        "differences": [
            {
                **_change(c),
                "drift": c.drift,
                "reason": c.reason,
                "diffs": [d.to_json() for d in c.diffs],
            }
            for c in differing
        ],
    }
