"""How the server differs from the YAML for some assistants, one line per difference.

``orchestrator test`` on a URL target refuses to play scenarios against assistants that
are not what the YAML says (an unapplied change would make the test prove nothing); this
module turns a plan into those differences, attributed to the assistant they concern:
its own fields, and the vector store and files it uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orchestrator.reconcile.desired import DesiredState
from orchestrator.reconcile.fielddiff import FieldDiff, show
from orchestrator.reconcile.plan import Change, Plan

# Actions that mean "the server is not what the YAML says" (orphans and deletions concern
# objects that left the YAML, journal pages are bookkeeping).
_DIFFERS = ("create", "update", "replace", "adopt", "blocked")


@dataclass(frozen=True)
class Difference:
    assistant: str
    what: str

    def __str__(self) -> str:
        return f"{self.assistant}: {self.what}"


def _value(v: Any) -> str:
    return v if isinstance(v, str) else show(v)


def _field(d: FieldDiff) -> str:
    if d.kind == "scalar":
        if d.before is None:
            return f"{d.field} is not set on the server (YAML {_value(d.after)})"
        if d.after is None:
            return f"{d.field} differs (server {_value(d.before)}, YAML unset)"
        return f"{d.field} differs (server {_value(d.before)}, YAML {_value(d.after)})"
    verb = "differ" if d.field.endswith("s") else "differs"
    if d.kind == "structure" and d.lines:
        more = f"; {len(d.lines) - 1} more" if len(d.lines) > 1 else ""
        return f"{d.field} {verb} ({d.lines[0]}{more})"
    return f"{d.field} {verb}"


def _describe(c: Change, prefix: str = "") -> list[str]:
    if c.action == "create":
        return [f"{prefix}not on the server"]
    if c.action == "blocked":
        return [f"{prefix}cannot be applied: {c.reason}"]
    if c.action == "adopt":
        return [f"{prefix}not managed yet ({c.reason or 'apply --adopt takes it over'})"]
    if c.action == "replace" and not c.diffs:
        return [
            f"{prefix}must be replaced ({c.reason})" if c.reason else f"{prefix}must be replaced"
        ]
    out = [prefix + _field(d) for d in c.diffs]
    return out or [f"{prefix}{c.reason or 'differs'}"]


def differences(plan: Plan, desired: DesiredState, assistants: Iterable[str]) -> list[Difference]:
    """What differs on the server for these assistant keys (in plan order)."""
    keys = sorted(set(assistants) & set(desired.assistants))
    store_users: dict[str, list[str]] = {}
    file_users: dict[str, list[str]] = {}
    for key in keys:
        a = desired.assistants[key]
        if a.vector_store is not None:
            store_users.setdefault(a.vector_store, []).append(key)
            for sha in desired.vector_stores[a.vector_store].file_shas:
                file_users.setdefault(sha, []).append(key)
        for sha in a.code_interpreter_files:
            file_users.setdefault(sha, []).append(key)
    out: list[Difference] = []
    for c in plan.changes:
        if c.action not in _DIFFERS:
            continue
        if c.kind == "assistant" and c.key in keys:
            out += [Difference(c.key, w) for w in _describe(c)]
        elif c.kind == "vector_store":
            for key in store_users.get(c.key, []):
                out += [Difference(key, w) for w in _describe(c, f"vector store {c.label!r}: ")]
        elif c.kind == "file":
            for key in dict.fromkeys(file_users.get(c.key, [])):
                out += [Difference(key, w) for w in _describe(c, f"file {c.label!r}: ")]
    return out
