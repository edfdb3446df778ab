"""The reconciler's entry points: plan, apply (under the lock), destroy.

``plan`` lists the server and compares (read-only, no lock). ``apply`` takes the plan
the user saw; if it writes anything, it takes the namespace lock, lists the server
again, and checks nothing moved since the plan (the fingerprint). A plan saved to a
file, or one a user confirmed, is never silently replaced: if the server changed, the
apply stops. An auto-approved apply (``--yes`` without a plan file) re-plans under the
lock instead, so CI converges even when another job just finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.reconcile.actual import ActualState, fetch_actual
from orchestrator.reconcile.adoption import adoption_ids, adoption_matches, discover
from orchestrator.reconcile.apply import (
    ApplyOptions,
    ApplyResult,
    ContentSource,
    Executor,
    Reporter,
    content_from_memory,
)
from orchestrator.reconcile.desired import DesiredState
from orchestrator.reconcile.errors import BlockedPlanError, ReconcileError, StalePlanError
from orchestrator.reconcile.lease import ServerLock
from orchestrator.reconcile.plan import Plan, PlanOptions
from orchestrator.reconcile.planfile import digest, read_plan
from orchestrator.reconcile.planner import make_plan
from orchestrator.reconcile.target import ReconcileTarget


def _env_seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass
class LockSettings:
    # Lease length, renewed while held (env ORCHESTRATOR_LOCK_TTL_SECONDS).
    ttl: float = field(default_factory=lambda: _env_seconds("ORCHESTRATOR_LOCK_TTL_SECONDS", 60.0))
    # Pause before the second look at competing locks; longer for servers whose lists lag
    # behind writes (env ORCHESTRATOR_LOCK_SETTLE_SECONDS).
    settle: float = field(
        default_factory=lambda: _env_seconds("ORCHESTRATOR_LOCK_SETTLE_SECONDS", 0.5)
    )
    force: bool = False


@dataclass(frozen=True)
class ApplyCounts:
    """The ``Resources: N added, N changed, N destroyed`` summary of an apply."""

    added: int
    changed: int
    destroyed: int


@dataclass
class ApplyOutcome:
    # The plan that was executed (a fresh one when an auto-approved apply re-planned).
    plan: Plan
    result: ApplyResult | None
    notes: list[str] = field(default_factory=list)
    replanned: bool = False

    def counts(self) -> ApplyCounts:
        """What went through; a replaced object counts as destroyed once its old copy is gone."""
        if self.result is None:
            return ApplyCounts(0, 0, 0)
        done = [c for c, r in self.result.results if r.ok]
        old_copies_gone = not self.result.deletions_skipped and not self.result.failures
        replaced = sum(c.action == "replace" for c in self.plan.changes)
        return ApplyCounts(
            added=sum(c.action in ("create", "replace") for c in done),
            changed=sum(c.action in ("update", "adopt") for c in done),
            destroyed=sum(c.action == "delete" for c in done) + replaced * old_copies_gone,
        )


def load_saved_plan(path: Path, *, namespace: str | None = None, target: str = "") -> Plan:
    """A plan saved by ``plan -o``, refused if it is for another namespace or target."""
    try:
        saved = read_plan(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReconcileError(f"{path}: not a plan saved by `orchestrator plan -o` ({e})") from e
    if namespace and namespace != saved.namespace:
        raise ReconcileError(
            f"{path} is a plan for namespace {saved.namespace!r}, not {namespace!r}"
        )
    if saved.target and target and saved.target != target:
        raise ReconcileError(f"{path} was made for {saved.target}, but this apply targets {target}")
    return saved


def plan(
    api: ReconcileTarget,
    desired: DesiredState,
    options: PlanOptions | None = None,
    *,
    target: str = "",
    parallelism: int = 8,
) -> Plan:
    options = options or PlanOptions()
    actual = fetch_actual(api, desired.namespace, parallelism=parallelism)
    if options.adopt:
        ids = adoption_ids(adoption_matches(desired, actual))
        discover(api, actual, ids, desired.files, parallelism=parallelism)
    return make_plan(desired, actual, options, target=target)


def _stale(plan: Plan, actual: ActualState) -> bool:
    return actual.fingerprint(set(plan.adoption_names), set(plan.adoption_ids)) != plan.fingerprint


def apply(
    api: ReconcileTarget,
    plan: Plan,
    content: ContentSource,
    *,
    desired: DesiredState | None = None,
    strict: bool = True,
    lock: LockSettings | None = None,
    options: ApplyOptions | None = None,
    reporter: Reporter | None = None,
    operation: str = "apply",
    on_replan: Callable[[Plan], None] | None = None,
) -> ApplyOutcome:
    """Execute ``plan`` under the namespace lock.

    ``strict``: the plan was reviewed (saved or confirmed); if the server changed since,
    stop unless a fresh plan would write exactly the same. Not strict (``--yes``):
    apply a fresh plan made under the lock from ``desired``.
    """
    if plan.blocked:
        raise BlockedPlanError(
            "the plan has changes that need a decision:\n"
            + "\n".join(f"  assistant {c.key!r}: {c.reason}" for c in plan.blocked)
        )
    if not plan.has_changes:
        return ApplyOutcome(plan=plan, result=None)
    settings = lock or LockSettings()
    opts = options or ApplyOptions()
    server_lock = ServerLock(
        api,
        plan.namespace,
        operation,
        ttl=settings.ttl,
        settle=settings.settle,
        force=settings.force,
    )
    with server_lock:
        actual = fetch_actual(api, plan.namespace, parallelism=opts.parallelism)
        if plan.options.adopt:
            # What the plan's adoptions bring along, looked at again under the lock.
            discover(
                api, actual, plan.adoption_ids, plan.desired_files, parallelism=opts.parallelism
            )
        replanned = False
        if _stale(plan, actual):
            if desired is None:
                raise StalePlanError(
                    "the server changed since this plan was made (its objects no longer match "
                    "the plan's fingerprint); nothing was applied. Make a new plan and review it."
                )
            if plan.options.adopt:
                more = set(adoption_ids(adoption_matches(desired, actual))) - set(plan.adoption_ids)
                discover(api, actual, more, desired.files, parallelism=opts.parallelism)
            fresh = make_plan(desired, actual, plan.options, target=plan.target)
            if strict and digest(fresh) != digest(plan):
                raise StalePlanError(
                    "the server changed since the plan was shown (another apply, or a hand "
                    "edit); nothing was applied. Run plan/apply again to review the new plan."
                )
            if fresh.blocked:
                raise BlockedPlanError(
                    "the plan has changes that need a decision:\n"
                    + "\n".join(f"  assistant {c.key!r}: {c.reason}" for c in fresh.blocked)
                )
            if on_replan is not None and digest(fresh) != digest(plan):
                on_replan(fresh)
            plan, replanned = fresh, True
            if not plan.has_changes:
                return ApplyOutcome(plan=plan, result=None, notes=server_lock.notes, replanned=True)
        result = Executor(
            api,
            plan,
            content,
            opts,
            reporter,
            guard=server_lock.check,
            journal_token=server_lock.token,
            confirm=server_lock.confirm,
        ).run()
    return ApplyOutcome(plan=plan, result=result, notes=server_lock.notes, replanned=replanned)


def sync(
    api: ReconcileTarget,
    desired: DesiredState,
    *,
    target: str = "",
    lock: LockSettings | None = None,
    options: ApplyOptions | None = None,
    reporter: Reporter | None = None,
) -> ApplyOutcome:
    """Plan and apply without a review (``orchestrator test`` on the embedded target,
    whose server is the project's own): as ``apply --yes``, never pruning."""
    opts = options or ApplyOptions()
    fresh = plan(api, desired, PlanOptions(), target=target, parallelism=opts.parallelism)
    contents = {s: f.content or b"" for s, f in desired.files.items()}
    return apply(
        api,
        fresh,
        content_from_memory(contents),
        desired=desired,
        strict=False,
        lock=lock,
        options=opts,
        reporter=reporter,
    )


def destroy_plan(
    api: ReconcileTarget, namespace: str, *, target: str = "", parallelism: int = 8
) -> Plan:
    """A plan that deletes every managed object of ``namespace`` (and nothing else)."""
    return plan(
        api,
        DesiredState(namespace=namespace),
        PlanOptions(prune=True),
        target=target,
        parallelism=parallelism,
    )
