"""The run engine: runs execute outside the request, on the server's event loop.

A created run is stored ``queued`` and handed to an asyncio task that waits for one of
``config.max_concurrent_runs`` slots, then executes it (:mod:`~orchestrator.server.engine.executor`) until it
finishes or needs the client's tool outputs (``requires_action``; submitting them
starts a new task). Every state change and delta is appended to the run's event log
(:mod:`~orchestrator.server.events`), which SSE responses read; polling reads the stored objects.

Cancellation and expiry stop the task (``asyncio.Task.cancel``, which also stops a
model stream or a sandboxed execution in flight) and then mark the run, its open step
and its open message. On startup, runs the previous process left ``queued`` or
``in_progress`` are marked ``failed`` (or ``expired``); ``requires_action`` runs are
kept and can still be submitted to, or expire.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from orchestrator.redaction import Redactor
from orchestrator.server.config import ServerConfig
from orchestrator.server.engine.executor import RunExecutor
from orchestrator.server.errors import invalid
from orchestrator.server.events import EventLog
from orchestrator.server.ids import now
from orchestrator.server.objects import ACTIVE_RUN_STATUSES, TERMINAL_RUN_STATUSES, usage_dict
from orchestrator.server.providers.base import Model
from orchestrator.server.store import Store

log = logging.getLogger("orchestrator.server.engine")

# Sent as `openai-poll-after-ms` so SDK polling helpers do not sleep a whole second.
POLL_AFTER_MS = 25

StopReason = Literal["cancelled", "expired", "shutdown", "deleted"]

_MESSAGE_REASON = {
    "cancelled": "run_cancelled",
    "expired": "run_expired",
    "failed": "run_failed",
    "incomplete": "max_tokens",
}
_STEP_STATUS = {
    "cancelled": "cancelled",
    "expired": "expired",
    "failed": "failed",
    "incomplete": "cancelled",
    "completed": "completed",
}
_STEP_TIME = {"cancelled": "cancelled_at", "expired": "expired_at", "failed": "failed_at"}
_RUN_TIME = {
    "completed": "completed_at",
    "incomplete": "completed_at",
    "failed": "failed_at",
    "cancelled": "cancelled_at",
}


def private_id(run_id: str) -> str:
    return f"{run_id}~engine"


class Engine:
    def __init__(self, config: ServerConfig, store: Store) -> None:
        self.config = config
        self.store = store
        # Every error a run or response stores or streams goes through it (an upstream
        # may echo its key; an exception may carry a URL with credentials).
        self.redact = Redactor(*config.secrets())
        self.events = EventLog(store)
        self.model: Model | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stop_reason: dict[str, StopReason] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._slots: asyncio.Semaphore | None = None
        self._scratch: Path | None = None

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        from orchestrator.server.providers import make_model

        self.model = make_model(self.config, self.store)
        self._slots = asyncio.Semaphore(max(1, self.config.max_concurrent_runs))
        self._recover()

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        tasks = list(self._tasks.items())
        for run_id, task in tasks:
            self._stop_reason[run_id] = "shutdown"
            task.cancel()
        await asyncio.gather(*(t for _, t in tasks), return_exceptions=True)
        self.events.close()  # what the stopped runs emitted last, before the store closes
        close = getattr(self.model, "aclose", None)
        if close is not None:
            await close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _recover(self) -> None:
        """Settle what the previous process left behind (it may have crashed)."""
        t = time.time()
        for run in self.store.all("run", where={"status": ("queued", "in_progress", "cancelling")}):
            if run["expires_at"] is not None and run["expires_at"] <= t:
                self.finalize(run["id"], "expired")
            elif run["status"] == "cancelling":
                self.finalize(run["id"], "cancelled")
            else:
                self.finalize(
                    run["id"],
                    "failed",
                    last_error={
                        "code": "server_error",
                        "message": "The server restarted while this run was in progress. "
                        "Create a new run to continue.",
                    },
                )
        waiting = self.store.all("run", where={"status": "requires_action"})
        for run in waiting:
            self._schedule_expiry(run)

    # -- queries --------------------------------------------------------------------

    def active_run(self, thread_id: str) -> dict[str, Any] | None:
        runs = self.store.all("run", parent=thread_id, where={"status": ACTIVE_RUN_STATUSES})
        return runs[-1] if runs else None

    def sandbox_dir(self, thread_id: str) -> Path:
        """The thread's persistent code-interpreter working directory."""
        base = self.config.data_dir
        if base is None:
            if self._scratch is None:
                self._scratch = Path(tempfile.mkdtemp(prefix="orchestrator-sandbox-"))
            base = self._scratch
        path = base / "sandbox" / thread_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def private(self, run_id: str) -> dict[str, Any]:
        """Engine-only state of a run (never on the wire): what each tool call's model
        saw, citation sources, images to show, usage of a step waiting for outputs."""
        return self.store.get("run_private", private_id(run_id)) or _new_private(run_id)

    def update_private(self, run_id: str, change: Any) -> dict[str, Any]:
        return self.store.mutate("run_private", private_id(run_id), change)

    # -- state changes (each one an event) -----------------------------------------

    def emit(self, run_id: str, event: str, data: Any) -> None:
        self.events.append(run_id, event, data)

    def set_run(self, run_id: str, event: str | None, **changes: Any) -> dict[str, Any]:
        run = self.store.mutate("run", run_id, lambda r: r.update(changes))
        if event:
            self.emit(run_id, event, run)
        return run

    def set_step(self, step_id: str, event: str | None, **changes: Any) -> dict[str, Any]:
        step = self.store.mutate("run_step", step_id, lambda s: s.update(changes))
        if event:
            self.emit(step["run_id"], event, step)
        return step

    def set_message(self, message_id: str, event: str | None, **changes: Any) -> dict[str, Any]:
        message = self.store.mutate("message", message_id, lambda m: m.update(changes))
        if event:
            self.emit(message["run_id"], event, message)
        return message

    def run_usage(self, run_id: str) -> tuple[int, int]:
        """(prompt, completion) tokens the run has used so far."""
        prompt = completion = 0
        for step in self.store.all("run_step", parent=run_id):
            if step.get("usage"):
                prompt += step["usage"]["prompt_tokens"]
                completion += step["usage"]["completion_tokens"]
        pending = self.private(run_id).get("pending_usage")
        if pending:
            prompt += pending["prompt_tokens"]
            completion += pending["completion_tokens"]
        return prompt, completion

    def finalize(
        self,
        run_id: str,
        status: str,
        *,
        last_error: dict[str, str] | None = None,
        incomplete_reason: str | None = None,
    ) -> dict[str, Any]:
        """Put a run in a terminal status, closing its open step and message."""
        ts = now()
        if last_error:
            last_error = {**last_error, "message": self.redact(last_error["message"])}
        pending = self.private(run_id).get("pending_usage")
        step_status = _STEP_STATUS[status]
        for step in self.store.all("run_step", parent=run_id, where={"status": "in_progress"}):
            changes: dict[str, Any] = {"status": step_status}
            if step_status in _STEP_TIME:
                changes[_STEP_TIME[step_status]] = ts
            else:
                changes["completed_at"] = ts
            if status == "failed" and last_error:
                code = last_error["code"]
                changes["last_error"] = {
                    "code": code
                    if code in ("server_error", "rate_limit_exceeded")
                    else "server_error",
                    "message": last_error["message"],
                }
            if pending and step["type"] == "tool_calls":
                changes["usage"] = pending
            self.set_step(step["id"], f"thread.run.step.{step_status}", **changes)
        if pending:
            self.update_private(run_id, lambda p: p.update(pending_usage=None))
        thread_id = self.store.require("run", run_id)["thread_id"]
        open_messages = self.store.all(
            "message", parent=thread_id, where={"run_id": run_id, "status": "in_progress"}
        )
        for message in open_messages:
            self.set_message(
                message["id"],
                "thread.message.incomplete",
                status="incomplete",
                incomplete_at=ts,
                incomplete_details={"reason": _MESSAGE_REASON.get(status, "run_failed")},
            )
        prompt, completion = self.run_usage(run_id)
        changes = {
            "status": status,
            "required_action": None,
            "usage": usage_dict(prompt, completion),
        }
        if status in _RUN_TIME:
            changes[_RUN_TIME[status]] = ts
        if status != "expired":
            # OpenAI clears expires_at once a run can no longer expire.
            changes["expires_at"] = None
        if last_error:
            changes["last_error"] = last_error
        if incomplete_reason:
            changes["incomplete_details"] = {"reason": incomplete_reason}
        run = self.set_run(run_id, f"thread.run.{status}", **changes)
        timer = self._timers.pop(run_id, None)
        if timer is not None:
            timer.cancel()
        self.events.finish(run_id)
        return run

    # -- what the routes call -------------------------------------------------------

    def start_run(self, run: dict[str, Any], created_thread: dict[str, Any] | None = None) -> None:
        """Store a new queued run and schedule it (``created_thread``: create_and_run's)."""
        self.store.insert("run", run, parent=run["thread_id"])
        self.store.insert("run_private", _new_private(run["id"]), parent=run["id"])
        if created_thread is not None:
            self.emit(run["id"], "thread.created", created_thread)
        self.emit(run["id"], "thread.run.created", run)
        self.emit(run["id"], "thread.run.queued", run)
        self._schedule_expiry(run)
        self._launch(run["id"])

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        run = self.store.require("run", run_id)
        status = run["status"]
        if status in TERMINAL_RUN_STATUSES:
            raise invalid(f"Cannot cancel run with status '{status}'.")
        if status == "cancelling":
            return run
        run = self.set_run(run_id, "thread.run.cancelling", status="cancelling")
        task = self._tasks.get(run_id)
        if task is not None:
            self._stop_reason[run_id] = "cancelled"
            task.cancel()
            return run
        return self.finalize(run_id, "cancelled")

    def submit_tool_outputs(self, run_id: str, outputs: list[dict[str, Any]]) -> dict[str, Any]:
        run = self.store.require("run", run_id)
        if run["status"] != "requires_action":
            raise invalid(f'Runs in status "{run["status"]}" do not accept tool outputs.')
        calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
        expected = [c["id"] for c in calls]
        given: dict[str, str] = {}
        for i, out in enumerate(outputs):
            call_id = out.get("tool_call_id")
            if not call_id:
                raise invalid(
                    f"Missing required parameter: 'tool_outputs[{i}].tool_call_id'.",
                    param=f"tool_outputs[{i}].tool_call_id",
                )
            if call_id in given:
                raise invalid(
                    f"Duplicate tool output for tool_call_id '{call_id}'.",
                    param=f"tool_outputs[{i}].tool_call_id",
                )
            given[call_id] = out.get("output") or ""
        if sorted(given) != sorted(expected):
            raise invalid(
                f"Expected tool outputs for call_ids {expected}, got {list(given)}.",
                param="tool_outputs",
            )
        pending = self.private(run_id).get("pending_usage")
        for step in self.store.all("run_step", parent=run_id, where={"status": "in_progress"}):
            if step["type"] != "tool_calls":
                continue
            details = step["step_details"]
            for call in details["tool_calls"]:
                if call["type"] == "function" and call["id"] in given:
                    call["function"]["output"] = given[call["id"]]
            self.set_step(
                step["id"],
                "thread.run.step.completed",
                step_details=details,
                status="completed",
                completed_at=now(),
                usage=pending or usage_dict(0, 0),
            )
        self.update_private(run_id, lambda p: p.update(pending_usage=None))
        run = self.set_run(run_id, "thread.run.queued", status="queued", required_action=None)
        self._launch(run_id)
        return run

    async def forget_thread(self, thread_id: str) -> None:
        """Before a thread is deleted: stop its runs, drop their steps and events."""
        runs = self.store.all("run", parent=thread_id)
        stopping = []
        for run in runs:
            task = self._tasks.get(run["id"])
            if task is not None:
                self._stop_reason[run["id"]] = "deleted"
                task.cancel()
                stopping.append(task)
            timer = self._timers.pop(run["id"], None)
            if timer is not None:
                timer.cancel()
        await asyncio.gather(*stopping, return_exceptions=True)
        for run in runs:
            self.store.delete_children(run["id"])
        self.events.delete_runs([r["id"] for r in runs])
        base = self.config.data_dir or self._scratch
        if base is not None:
            shutil.rmtree(base / "sandbox" / thread_id, ignore_errors=True)

    # -- execution ------------------------------------------------------------------

    def _launch(self, run_id: str) -> None:
        self._tasks[run_id] = asyncio.create_task(self._execute(run_id), name=f"run {run_id}")

    async def _execute(self, run_id: str) -> None:
        me = asyncio.current_task()
        try:
            assert self._slots is not None
            async with self._slots:
                await RunExecutor(self, run_id).execute()
        except asyncio.CancelledError:
            reason = self._stop_reason.pop(run_id, "shutdown")
            self._after_stop(run_id, reason)
        except Exception as exc:
            log.exception("run %s failed", run_id)
            message = self.redact(
                f"The server had an error while running: {type(exc).__name__}: {exc}"
            )
            # Streams see the error itself, then the failed run.
            self._emit_safely(
                run_id,
                "error",
                {"code": "server_error", "message": message, "param": None, "type": "server_error"},
            )
            self._fail_safely(run_id, {"code": "server_error", "message": message})
        finally:
            if self._tasks.get(run_id) is me:
                del self._tasks[run_id]

    def _after_stop(self, run_id: str, reason: StopReason) -> None:
        if reason == "deleted":
            return
        if reason == "cancelled":
            self.finalize(run_id, "cancelled")
        elif reason == "expired":
            self.finalize(run_id, "expired")
        else:
            self._fail_safely(
                run_id,
                {
                    "code": "server_error",
                    "message": "The server shut down while this run was in progress. "
                    "Create a new run to continue.",
                },
            )

    def _emit_safely(self, run_id: str, event: str, data: Any) -> None:
        try:
            self.emit(run_id, event, data)
        except Exception:
            log.exception("could not record %s for run %s", event, run_id)

    def _fail_safely(self, run_id: str, error: dict[str, str]) -> None:
        try:
            run = self.store.get("run", run_id)
            if run is not None and run["status"] not in TERMINAL_RUN_STATUSES:
                self.finalize(run_id, "failed", last_error=error)
        except Exception:
            log.exception("could not mark run %s failed", run_id)

    def _schedule_expiry(self, run: dict[str, Any]) -> None:
        if run.get("expires_at") is None:
            return
        delay = max(0.0, run["expires_at"] - time.time())
        loop = asyncio.get_running_loop()
        self._timers[run["id"]] = loop.call_later(delay, self._expire, run["id"])

    def _expire(self, run_id: str) -> None:
        self._timers.pop(run_id, None)
        run = self.store.get("run", run_id)
        if run is None or run["status"] in TERMINAL_RUN_STATUSES:
            return
        task = self._tasks.get(run_id)
        if task is not None:
            self._stop_reason[run_id] = "expired"
            task.cancel()
        else:
            self.finalize(run_id, "expired")


def _new_private(run_id: str) -> dict[str, Any]:
    return {
        "id": private_id(run_id),
        "run_id": run_id,
        # call id -> {"arguments": what the model sent, "output": what it was given}
        "calls": {},
        # file_search citation marker -> file_id, over the whole run
        "sources": {},
        "file_search_calls": 0,
        # image files the code wrote, not yet shown in a message
        "images": [],
        # path the code wrote (relative to /mnt/data) -> file_id, for file_path annotations
        "links": {},
        "pending_usage": None,
    }
