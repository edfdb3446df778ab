"""The plan file: a plan's versioned JSON form (``plan --json`` / ``plan -o``), and back.

:func:`read_plan` reads a saved plan for ``apply plan.json``, which refuses to run when the
server's fingerprint changed since (see :mod:`.workflow`). :func:`digest` hashes what a
plan would write, over this same form, to compare two plans.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.ownership import sha256_json
from orchestrator.reconcile.fielddiff import FieldDiff
from orchestrator.reconcile.plan import (
    AssistantOp,
    Change,
    FileOp,
    Plan,
    PlanOptions,
    VectorStoreOp,
)

# 2: files under their real names, file entries, journal changes.
PLAN_FORMAT_VERSION = 2


def change_to_json(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": change.kind,
        "action": change.action,
        "key": change.key,
        "label": change.label,
        "id": change.id,
        "name": change.name,
        "reason": change.reason,
        "drift": change.drift,
        "diffs": [d.to_json() for d in change.diffs],
        "refs": change.refs,
    }
    for name in ("file", "vector_store", "assistant"):
        op = getattr(change, name)
        if op is not None:
            out[name] = dict(op.__dict__)
    return out


def change_from_json(d: dict[str, Any]) -> Change:
    return Change(
        kind=d["kind"],
        action=d["action"],
        key=d["key"],
        label=d.get("label") or d["key"],
        id=d.get("id"),
        name=d.get("name"),
        reason=d.get("reason"),
        drift=bool(d.get("drift")),
        diffs=[FieldDiff.from_json(x) for x in d.get("diffs") or []],
        file=FileOp(**d["file"]) if d.get("file") else None,
        vector_store=VectorStoreOp(**d["vector_store"]) if d.get("vector_store") else None,
        assistant=AssistantOp(**d["assistant"]) if d.get("assistant") else None,
        refs={k: list(v) for k, v in (d.get("refs") or {}).items()},
    )


def digest(plan: Plan) -> str:
    """A hash of what the plan would write (to compare two plans)."""
    return sha256_json([change_to_json(c) for c in plan.changes if c.writes])


def plan_to_json(plan: Plan) -> dict[str, Any]:
    n = plan.counts()
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "namespace": plan.namespace,
        "target": plan.target,
        "created_at": plan.created_at,
        "fingerprint": plan.fingerprint,
        "options": {"prune": plan.options.prune, "adopt": plan.options.adopt},
        "partial": plan.partial,
        "adoption_names": plan.adoption_names,
        "adoption_ids": plan.adoption_ids,
        "summary": {
            "add": n.add,
            "change": n.change,
            "destroy": n.destroy,
            "adopt": n.adopt,
            "blocked": n.blocked,
            "orphan": n.orphan,
            "cleanup": n.cleanup,
            "text": n.summary(),
        },
        "has_changes": plan.has_changes,
        "warnings": plan.warnings,
        "changes": [change_to_json(c) for c in plan.changes],
        "known_ids": {"files": plan.known_files, "vector_stores": plan.known_vector_stores},
        "desired_files": plan.desired_files,
    }


def plan_from_json(data: dict[str, Any]) -> Plan:
    version = data.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise ValueError(
            f"plan format_version {version!r} is not supported (this version reads "
            f"{PLAN_FORMAT_VERSION}); make the plan again with this version"
        )
    opts = data.get("options") or {}
    return Plan(
        namespace=data["namespace"],
        fingerprint=data["fingerprint"],
        changes=[change_from_json(c) for c in data.get("changes") or []],
        options=PlanOptions(prune=bool(opts.get("prune")), adopt=bool(opts.get("adopt"))),
        target=data.get("target") or "",
        adoption_names=list(data.get("adoption_names") or []),
        adoption_ids=list(data.get("adoption_ids") or []),
        warnings=list(data.get("warnings") or []),
        partial=bool(data.get("partial")),
        created_at=data.get("created_at") or "",
        known_files=dict((data.get("known_ids") or {}).get("files") or {}),
        known_vector_stores=dict((data.get("known_ids") or {}).get("vector_stores") or {}),
        desired_files={k: list(v) for k, v in (data.get("desired_files") or {}).items()},
    )


def dumps(plan: Plan) -> str:
    """The plan file's text (indented, UTF-8, newline-terminated)."""
    return json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n"


def read_plan(path: Path) -> Plan:
    """A plan file; raises OSError or ValueError (also KeyError/TypeError on bad shapes)."""
    return plan_from_json(json.loads(path.read_text(encoding="utf-8")))
