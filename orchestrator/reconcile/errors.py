"""Errors the reconciler reports to users: each names the object, what went wrong, and what to do."""

from __future__ import annotations


class ReconcileError(Exception):
    """A problem a user can act on; the CLI prints the message (no traceback) and exits 1."""


class DesiredStateError(ReconcileError):
    """The YAML asks for something the reconciler cannot build (e.g. conflicting shared stores)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StalePlanError(ReconcileError):
    """A saved (or confirmed) plan no longer matches the server or the local files."""


class LockHeldError(ReconcileError):
    """Another apply or destroy holds the namespace's lock."""


class LockLostError(ReconcileError):
    """The apply's lease ended before it could be renewed (the process was paused, the
    server unreachable): another apply may hold the namespace now, so this one stopped."""


class BlockedPlanError(ReconcileError):
    """The plan has changes that need a decision (e.g. an unmanaged assistant to adopt)."""
