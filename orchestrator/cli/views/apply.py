"""An apply (or destroy) on the terminal: a line per finished change, indexing progress."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from typing import TextIO

import click

from orchestrator.cli.views.heartbeat import Heartbeat, heartbeat_interval
from orchestrator.cli.views.plan import style
from orchestrator.reconcile.apply import ChangeResult
from orchestrator.reconcile.plan import Change
from orchestrator.reconcile.workflow import ApplyOutcome

# What a change in flight is doing, for the "Still ..." lines.
_DOING = {
    "create": "creating",
    "replace": "replacing",
    "update": "modifying",
    "adopt": "adopting",
    "delete": "destroying",
}


class ConsoleReporter:
    """Prints one line per finished change, an indexing progress line on a TTY, and off
    a TTY a "Still creating… [10s elapsed]" line for changes that take long.

    A context manager: leaving it stops those lines."""

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.err = sys.stderr
        self.color = color
        self.tty = self.err.isatty()
        self._lock = threading.Lock()
        self._progress_shown = False
        self.heartbeat = Heartbeat(self._echo, heartbeat_interval(self.stream))

    def __enter__(self) -> ConsoleReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.heartbeat.close()

    def _echo(self, text: str) -> None:
        with self._lock:
            if self._progress_shown:
                click.echo("", file=self.err)
                self._progress_shown = False
            click.echo(text, file=self.stream, color=self.color)

    def started(self, change: Change) -> None:
        verb = _DOING.get(change.action, "changing")
        if change.kind == "file" and change.action == "create":
            verb = "uploading"
        self.heartbeat.begin(id(change), f"{change.kind}.{change.label}", verb)

    def finished(self, change: Change, result: ChangeResult) -> None:
        self.heartbeat.end(id(change))
        label = f"{change.kind}.{change.label}"
        if not result.ok:
            self._echo(style(f"{label}: failed: {result.error}", "red", bold=True))
            return
        verb = {
            "create": "Creation",
            "replace": "Replacement",
            "update": "Modification",
            "adopt": "Adoption",
            "delete": "Destruction",
        }.get(change.action, "Change")
        if change.kind == "file" and change.action == "create":
            verb = "Upload"
        extra = ", found on the server after a lost response" if result.recovered else ""
        self._echo(f"{label}: {verb} complete after {result.seconds:.1f}s [id={result.id}{extra}]")

    def indexing(self, done: int, total: int) -> None:
        if not self.tty or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        with self._lock:
            click.echo(
                f"\rIndexing files [{bar}] {done}/{total}",
                file=self.err,
                nl=False,
                color=self.color,
            )
            self._progress_shown = done < total
            if done >= total:
                click.echo("", file=self.err)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def sync_line(outcome: ApplyOutcome) -> str:
    """`orchestrator test`'s one line about applying the YAML to the embedded server."""
    if outcome.result is None:
        return "Up to date: the embedded server matches the YAML."
    done = Counter(c.kind for c, r in outcome.result.results if r.ok)
    parts = [
        _count(done[kind], noun)
        for kind, noun in (("assistant", "assistant"), ("vector_store", "vector store"))
        if done[kind]
    ]
    if done["file"]:
        parts.append(_count(done["file"], "file"))
    return f"Synced {', '.join(parts) or 'nothing'} to the embedded server."
