"""Scripts: what the local model does next on a thread, step by step.

A script is queued for a thread through the extension endpoint
``POST /v1/x-orchestrator/threads/{thread_id}/script`` (body:
:class:`orchestrator.scripting.Script`, the contract shared with cassettes). While
steps remain, the local model answers each model request of that thread with the next
step instead of its own policy. The scenario runner's cassettes hold the same steps,
one list per turn, so a recorded conversation replays exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from orchestrator.scripting import ScriptStep
from orchestrator.server.errors import APIError

if TYPE_CHECKING:
    from orchestrator.server.store import Store


class ScriptQueue:
    """The steps queued for each thread, persisted in the store (kind ``"script"``).

    One document per thread (parent: the thread, so deleting a thread's children
    removes it) holds the pending steps and how many were taken since the queue was
    last replaced or cleared, so errors can name "script step 2". Pops are atomic
    read-modify-writes, so two runs can never take the same step.
    """

    KIND = "script"

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _key(thread_id: str) -> str:
        return f"script:{thread_id}"

    def push(
        self,
        thread_id: str,
        steps: list[ScriptStep],
        mode: Literal["append", "replace"] = "append",
    ) -> list[ScriptStep]:
        """Queue ``steps`` after (``append``) or instead of (``replace``) what is pending."""
        if mode not in ("append", "replace"):
            raise ValueError(f"script mode must be 'append' or 'replace', not {mode!r}")
        dumped = [step.model_dump(mode="json", exclude_none=True) for step in steps]

        def change(doc: dict[str, Any]) -> None:
            if mode == "replace":
                doc["steps"], doc["taken"] = [], 0
            doc["steps"].extend(dumped)

        doc = self._mutate(thread_id, change)
        if doc is None:
            fresh = {
                "id": self._key(thread_id),
                "object": "x-orchestrator.script_queue",
                "thread_id": thread_id,
                "steps": dumped,
                "taken": 0,
            }
            try:
                doc = self.store.insert(self.KIND, fresh, parent=thread_id)
            except sqlite3.IntegrityError:
                # Another push created it in between: apply ours on top of it.
                doc = self._mutate(thread_id, change)
                assert doc is not None
        return [ScriptStep.model_validate(s) for s in doc["steps"]]

    def pop(self, thread_id: str) -> ScriptStep | None:
        """Take the next step for the thread, or None when nothing is queued."""
        taken = self.pop_numbered(thread_id)
        return taken[1] if taken else None

    def pop_numbered(self, thread_id: str) -> tuple[int, ScriptStep] | None:
        """Like :meth:`pop`, with the step's 1-based number in the queue's history."""
        doc = self.store.get(self.KIND, self._key(thread_id))
        if doc is None or not doc["steps"]:
            # The common case (no script): a read, no write transaction.
            return None
        out: dict[str, Any] = {}

        def change(doc: dict[str, Any]) -> None:
            if doc["steps"]:
                out["step"] = doc["steps"].pop(0)
                doc["taken"] += 1
                out["number"] = doc["taken"]

        self._mutate(thread_id, change)
        if "step" not in out:
            return None
        return out["number"], ScriptStep.model_validate(out["step"])

    def pending(self, thread_id: str) -> list[ScriptStep]:
        doc = self.store.get(self.KIND, self._key(thread_id))
        return [ScriptStep.model_validate(s) for s in doc["steps"]] if doc else []

    def clear(self, thread_id: str) -> None:
        self.store.delete(self.KIND, self._key(thread_id))

    def _mutate(
        self, thread_id: str, change: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any] | None:
        try:
            return self.store.mutate(self.KIND, self._key(thread_id), change)
        except APIError as exc:
            if exc.status == 404:
                return None
            raise
