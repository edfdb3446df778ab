"""Scenario runs on the terminal: live progress on a TTY, quiet lines in CI, the summary.

- :class:`LiveReporter` (a TTY): a status area with one line per running scenario —
  which turn, the tool calls as they happen, the reply as it streams — above which each
  finished scenario leaves a PASS/FAIL line and its failure details.
- :class:`LineReporter` (CI, pipes): one line per finished scenario, failure details
  under it; with ``verbose`` also one line per turn.
- :func:`summary`: the table and totals after the run.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
import unicodedata
from typing import IO

import click

from orchestrator.cli.views.heartbeat import Heartbeat, heartbeat_interval
from orchestrator.project.specs import ScenarioSpec
from orchestrator.reconcile.drift import Difference
from orchestrator.scenarios.observed import TurnRecord
from orchestrator.scenarios.progress import NullProgress, Reporter, ScenarioProgress
from orchestrator.scenarios.results import RunReport, ScenarioResult

_LABEL = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}
_COLOR = {"passed": "green", "failed": "red", "error": "yellow"}


def _label(result: ScenarioResult, color: bool) -> str:
    text = _LABEL[result.outcome].ljust(5)
    return click.style(text, fg=_COLOR[result.outcome], bold=True) if color else text


def result_line(result: ScenarioResult, color: bool = False) -> str:
    turns = f"{len(result.turns)} turn{'s' if len(result.turns) != 1 else ''}"
    extra = []
    if result.replayed:
        extra.append("replayed")
    if result.recorded:
        extra.append(f"recorded {result.recorded.name}")
    tail = f" [{', '.join(extra)}]" if extra else ""
    return f"{_label(result, color)} {result.id}  ({result.source}, {turns}, {result.duration:.2f} s){tail}"


def result_details(result: ScenarioResult) -> str:
    lines = []
    for p in result.problems():
        lines += ["    " + ln for ln in p.render().splitlines()]
    lines += [f"    note: {n}" for n in result.notes]
    return "\n".join(lines)


class _LineProgress(NullProgress):
    def __init__(self, owner: LineReporter, spec: ScenarioSpec, attempt: int) -> None:
        self.owner = owner
        self.name = spec.name if attempt == 1 else f"{spec.name} [{attempt}]"
        self.total = len(spec.turns)
        owner.heartbeat.begin(self, self.name, "running")

    def turn_done(self, record: TurnRecord) -> None:
        if self.owner.verbose:
            calls = ", ".join(c.name for c in record.tool_calls)
            self.owner.write(
                f"  {self.name}: turn {record.index + 1}/{self.total} {record.status} "
                f"({record.duration:.2f} s){' · ' + calls if calls else ''}"
            )

    def done(self, result: ScenarioResult) -> None:
        self.owner.heartbeat.end(self)
        self.owner.write(result_line(result, self.owner.color))
        details = result_details(result)
        if details:
            self.owner.write(details)


class LineReporter:
    def __init__(
        self, out: IO[str] | None = None, *, verbose: bool = False, color: bool = False
    ) -> None:
        self.out = out or sys.stdout
        self.verbose = verbose
        self.color = color
        self._lock = threading.Lock()
        # CI logs: "<scenario>: Still running… [10s elapsed]" for a long scenario.
        self.heartbeat = Heartbeat(self.write, heartbeat_interval(self.out))

    def write(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def start(self, spec: ScenarioSpec, attempt: int) -> ScenarioProgress:
        return _LineProgress(self, spec, attempt)

    def finish(self, report: RunReport) -> None:
        self.heartbeat.close()


# --- live (TTY) ----------------------------------------------------------------------

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())  # one line: no newlines or tabs
    if _width(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def _tail(text: str, width: int) -> str:
    """The end of a streaming reply that fits (the newest words are the interesting ones)."""
    text = " ".join(text.split())
    if _width(text) <= width:
        return text
    out: list[str] = []
    used = 0
    for c in reversed(text):
        w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "…" + "".join(reversed(out))


class _LiveProgress(NullProgress):
    def __init__(self, owner: LiveReporter, spec: ScenarioSpec, attempt: int) -> None:
        self.owner = owner
        self.name = spec.name if attempt == 1 else f"{spec.name} [{attempt}]"
        self.turn_label = ""
        self.activity = "starting"
        self.reply = ""

    def turn(self, index: int, total: int, user: str) -> None:
        self.turn_label = f"turn {index + 1}/{total}"
        self.activity = f"user: {user}"
        self.reply = ""
        self.owner.changed()

    def tool_call(self, name: str, detail: str) -> None:
        self.activity = (
            f"→ {name}({detail})" if detail and name not in ("code_interpreter",) else f"→ {name}"
        )
        self.owner.changed()

    def text(self, delta: str) -> None:
        self.reply += delta
        self.owner.changed()

    def line(self, frame: str, width: int) -> str:
        head = f"{frame} {self.name}" + (f" · {self.turn_label}" if self.turn_label else "") + " · "
        room = max(10, width - _width(head))
        body = _tail(self.reply, room) if self.reply else _fit(self.activity, room)
        return head + body

    def done(self, result: ScenarioResult) -> None:
        self.owner.finished(self, result)


class LiveReporter:
    """Redraws a status area below the finished lines, at most ~20 times a second."""

    def __init__(
        self, out: IO[str] | None = None, *, verbose: bool = False, color: bool = True
    ) -> None:
        self.out = out or sys.stdout
        self.verbose = verbose
        self.color = color
        self.active: list[_LiveProgress] = []
        self.drawn = 0
        self.last = 0.0
        self.frame = 0

    def start(self, spec: ScenarioSpec, attempt: int) -> ScenarioProgress:
        p = _LiveProgress(self, spec, attempt)
        self.active.append(p)
        self.changed()
        return p

    def _clear(self) -> None:
        if self.drawn:
            # Up to the first status line, then clear to the end of the screen.
            self.out.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0

    def _draw(self) -> None:
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
        height = max(3, shutil.get_terminal_size((100, 20)).lines - 2)
        self.frame = (self.frame + 1) % len(_SPINNER)
        shown = self.active[:height]
        for p in shown:
            self.out.write(p.line(_SPINNER[self.frame], width) + "\n")
        if len(self.active) > len(shown):
            self.out.write(f"  … and {len(self.active) - len(shown)} more running\n")
        self.drawn = len(shown) + (len(self.active) > len(shown))
        self.out.flush()

    def changed(self) -> None:
        now = time.monotonic()
        if now - self.last < 0.05:
            return
        self.last = now
        self._clear()
        self._draw()

    def finished(self, p: _LiveProgress, result: ScenarioResult) -> None:
        if p in self.active:
            self.active.remove(p)
        self._clear()
        self.out.write(result_line(result, self.color) + "\n")
        details = result_details(result)
        if details:
            self.out.write(details + "\n")
        self._draw()
        self.last = time.monotonic()

    def finish(self, report: RunReport) -> None:
        self._clear()
        self.out.flush()


def make_reporter(
    out: IO[str] | None = None, *, verbose: bool = False, color: bool | None = None
) -> Reporter:
    """Live progress on a terminal, lines otherwise (CI logs, pipes)."""
    stream = out or sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    use_color = tty if color is None else color
    if tty:
        return LiveReporter(stream, verbose=verbose, color=use_color)
    return LineReporter(stream, verbose=verbose, color=use_color)


def summary(report: RunReport, color: bool = False) -> str:
    """The summary table, the pass rates when repeated, and the totals line."""

    def style(text: str, outcome: str) -> str:
        if not color:
            return text
        fg = {"passed": "green", "failed": "red", "error": "yellow"}[outcome]
        return click.style(text, fg=fg, bold=True)

    lines: list[str] = []
    rates = report.pass_rates()
    repeated = any(n > 1 for _, _, n in rates)
    if report.results and not repeated:
        rows = []
        for r in report.results:
            label = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}[r.outcome]
            turns = f"{len(r.turns)}"
            rows.append((r.id, label, r.outcome, turns, f"{r.duration:.2f} s"))
        w = [
            max(len("Scenario"), *(len(r[0]) for r in rows)),
            6,
            max(len("Turns"), *(len(r[3]) for r in rows)),
        ]
        lines.append(
            f"{'Scenario'.ljust(w[0])}  {'Result'.ljust(w[1])}  {'Turns'.rjust(w[2])}  Time"
        )
        for name, label, outcome, turns, dur in rows:
            lines.append(
                f"{name.ljust(w[0])}  {style(label.ljust(w[1]), outcome)}  {turns.rjust(w[2])}  {dur}"
            )
    if repeated:
        # Repeats measure flakiness: one line per scenario with its pass rate.
        wn = max(len("Scenario"), *(len(n) for n, _, _ in rates))
        lines.append(f"{'Scenario'.ljust(wn)}  Passed   Rate")
        for name, p, n in rates:
            rate = f"{100 * p / n:5.1f}%"
            outcome = "passed" if p == n else "failed" if p else "error"
            lines.append(f"{name.ljust(wn)}  {f'{p}/{n}'.ljust(7)}  {style(rate, outcome)}")
    for p in report.errors:
        lines.append(style("ERROR", "error") + " " + p.render())
    total = len(report.results)
    lines.append(
        f"{total} scenario run{'s' if total != 1 else ''}: {report.count('passed')} passed, "
        f"{report.count('failed')} failed, {report.count('error') + len(report.errors)} "
        f"error{'s' if report.count('error') + len(report.errors) != 1 else ''} "
        f"in {report.duration:.2f} s"
    )
    return "\n".join(lines)


def drift_refusal(found: list[Difference], where: str) -> str:
    """Why `orchestrator test` will not play scenarios on a URL target that drifted."""
    todo = "run `orchestrator apply` or pass --allow-drift"
    if len(found) == 1:
        return f"{found[0]}; {todo}"
    lines = "\n".join(f"  {d}" for d in found)
    return f"the assistants on {where} differ from the YAML; {todo}:\n{lines}"
