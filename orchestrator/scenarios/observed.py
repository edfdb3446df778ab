"""What happened in a turn: the run's steps, tool calls, reply and citations.

API-neutral: a driver (:mod:`orchestrator.scenarios.drivers`) builds it from what its
API returns, so that expectations, transcripts, reports and cassettes all read one plain
structure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ToolType = Literal["function", "code_interpreter", "file_search"]


@dataclass
class ToolCallRecord:
    id: str
    type: ToolType
    # Function name, or "code_interpreter" / "file_search".
    name: str
    # Functions: the arguments as sent (raw JSON text) and parsed (None if not JSON).
    raw_arguments: str = ""
    arguments: Any = None
    # Functions: what was submitted; code interpreter: the logs.
    output: str | None = None
    # Where a function's output came from: "handler" | "mock" | "" (not answered).
    output_source: str = ""
    # Code interpreter: the code run and image file ids it produced.
    code: str | None = None
    images: list[str] = field(default_factory=list)
    # File search: the results' file names and scores, best first.
    results: list[dict[str, Any]] = field(default_factory=list)

    def label(self) -> str:
        if self.type == "function":
            return f"{self.name}({self.raw_arguments})"
        return self.name


@dataclass
class StepRecord:
    id: str
    type: Literal["message_creation", "tool_calls"]
    status: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    message_id: str | None = None


@dataclass
class CitationRecord:
    # The marker text in the reply, e.g. "【0:1†guide.md】".
    text: str
    file_id: str
    filename: str | None = None
    start_index: int = 0
    end_index: int = 0


@dataclass
class TurnRecord:
    index: int
    user: str
    run_id: str | None = None
    status: str | None = None
    model: str | None = None
    last_error: dict[str, str] | None = None
    incomplete_reason: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    # Assistant messages created by this turn's run, in order.
    replies: list[str] = field(default_factory=list)
    citations: list[CitationRecord] = field(default_factory=list)
    duration: float = 0.0
    usage: dict[str, int] | None = None
    # Replay: the cassette steps queued for this turn (None when not replaying).
    replayed_steps: int | None = None

    @property
    def reply(self) -> str:
        return "\n\n".join(self.replies)

    @property
    def tool_calls(self) -> list[ToolCallRecord]:
        return [c for s in self.steps if s.type == "tool_calls" for c in s.tool_calls]

    @property
    def function_calls(self) -> list[ToolCallRecord]:
        return [c for c in self.tool_calls if c.type == "function"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reply"] = self.reply
        return data


def parse_json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return None
