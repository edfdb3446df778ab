"""Outcomes: what the runner reports for each scenario and for the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from orchestrator.scenarios.observed import TurnRecord

Outcome = Literal["passed", "failed", "error"]
# failed: the assistant did not do what the scenario expects (expectations, a handler
# rejecting its call, a timeout, a cassette that no longer fits).
# error: the scenario could not be run as written (bad scenario, an assistant that was
# never applied, an unreachable server or model endpoint, an unexpected API error).
ProblemKind = Literal[
    "expectation",
    "handler",
    "timeout",
    "run",
    "cassette",
    "setup",
    "api",
    "model",
    "interrupted",
]


@dataclass
class Problem:
    kind: ProblemKind
    # One line: what went wrong, naming the turn and the object.
    message: str
    # Several lines: expected vs actual, a traceback, what to do.
    details: str = ""
    turn: int | None = None

    def render(self) -> str:
        head = f"turn {self.turn + 1}: {self.message}" if self.turn is not None else self.message
        if not self.details:
            return head
        return head + "\n" + "\n".join("  " + ln for ln in self.details.rstrip().splitlines())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "details": self.details,
            "turn": self.turn,
        }


@dataclass
class ScenarioResult:
    name: str
    # "path:line:col" of the scenario.
    source: str
    file: Path
    assistant: str
    attempt: int = 1
    outcome: Outcome = "passed"
    duration: float = 0.0
    thread_id: str | None = None
    assistant_id: str | None = None
    turns: list[TurnRecord] = field(default_factory=list)
    failures: list[Problem] = field(default_factory=list)
    error: Problem | None = None
    # Cassette used (replay) or written (record), if any.
    replayed: Path | None = None
    recorded: Path | None = None
    # A note for the reader, e.g. why nothing was recorded.
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        """Unique among results: the name, with the attempt when repeated."""
        return self.name if self.attempt == 1 else f"{self.name} [{self.attempt}]"

    def problems(self) -> list[Problem]:
        return ([self.error] if self.error else []) + self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "file": str(self.file),
            "assistant": self.assistant,
            "assistant_id": self.assistant_id,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "duration": round(self.duration, 4),
            "thread_id": self.thread_id,
            "replayed": str(self.replayed) if self.replayed else None,
            "recorded": str(self.recorded) if self.recorded else None,
            "failures": [p.to_dict() for p in self.failures],
            "error": self.error.to_dict() if self.error else None,
            "notes": list(self.notes),
            "turns": [t.to_dict() for t in self.turns],
        }


@dataclass
class RunReport:
    results: list[ScenarioResult] = field(default_factory=list)
    duration: float = 0.0
    target: str = ""
    # Problems outside any scenario (e.g. the server could not be reached).
    errors: list[Problem] = field(default_factory=list)
    # Stopped by Ctrl-C: the results hold what finished (and what was cut short).
    interrupted: bool = False

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 some failed, 2 errors (bad scenario, unreachable server),
        130 interrupted (Ctrl-C)."""
        if self.interrupted:
            return 130
        if self.errors or self.count("error"):
            return 2
        if self.count("failed"):
            return 1
        return 0

    def pass_rates(self) -> list[tuple[str, int, int]]:
        """(scenario name, passed, runs) per scenario, in first-seen order."""
        table: dict[str, list[int]] = {}
        for r in self.results:
            row = table.setdefault(f"{r.source}\0{r.name}", [0, 0])
            row[0] += r.outcome == "passed"
            row[1] += 1
        return [(k.split("\0", 1)[1], p, n) for k, (p, n) in table.items()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "target": self.target,
            "duration": round(self.duration, 4),
            "summary": {
                "total": len(self.results),
                "passed": self.count("passed"),
                "failed": self.count("failed"),
                "errors": self.count("error") + len(self.errors),
                "exit_code": self.exit_code,
            },
            "interrupted": self.interrupted,
            "errors": [p.to_dict() for p in self.errors],
            "pass_rates": [
                {"scenario": n, "passed": p, "runs": t, "rate": round(p / t, 4) if t else 0}
                for n, p, t in self.pass_rates()
            ],
            "scenarios": [r.to_dict() for r in self.results],
        }
