"""Where progress goes while scenarios run (the seam; the terminal views live in
``orchestrator.cli.views.scenarios``).

A :class:`Reporter` hands out one :class:`ScenarioProgress` per scenario attempt and
hears the final report. All calls come from the runner's event loop thread.
"""

from __future__ import annotations

from typing import Protocol

from orchestrator.project.specs import ScenarioSpec
from orchestrator.scenarios.observed import TurnRecord
from orchestrator.scenarios.results import RunReport, ScenarioResult


class ScenarioProgress(Protocol):
    def turn(self, index: int, total: int, user: str) -> None: ...
    def tool_call(self, name: str, detail: str) -> None: ...
    def text(self, delta: str) -> None: ...
    def turn_done(self, record: TurnRecord) -> None: ...
    def done(self, result: ScenarioResult) -> None: ...


class Reporter(Protocol):
    def start(self, spec: ScenarioSpec, attempt: int) -> ScenarioProgress: ...
    def finish(self, report: RunReport) -> None: ...


class NullProgress:
    """Ignores every event (the base of the terminal views too)."""

    def turn(self, index: int, total: int, user: str) -> None:
        pass

    def tool_call(self, name: str, detail: str) -> None:
        pass

    def text(self, delta: str) -> None:
        pass

    def turn_done(self, record: TurnRecord) -> None:
        pass

    def done(self, result: ScenarioResult) -> None:
        pass


class NullReporter:
    """Says nothing (library use, the pytest plugin)."""

    def start(self, spec: ScenarioSpec, attempt: int) -> ScenarioProgress:
        return NullProgress()

    def finish(self, report: RunReport) -> None:
        pass
