"""What happened in a turn: the run's steps, tool calls, reply and citations.

Built from the SDK's typed objects (streamed events or listed steps/messages) so that
expectations, transcripts, reports and cassettes all read one plain structure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from openai.types.beta.threads import Message
from openai.types.beta.threads.runs import RunStep

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


def step_record(step: RunStep) -> StepRecord:
    details = step.step_details
    if details.type == "message_creation":
        return StepRecord(
            id=step.id,
            type="message_creation",
            status=step.status,
            message_id=details.message_creation.message_id,
        )
    calls: list[ToolCallRecord] = []
    for tc in details.tool_calls:
        if tc.type == "function":
            calls.append(
                ToolCallRecord(
                    id=tc.id,
                    type="function",
                    name=tc.function.name,
                    raw_arguments=tc.function.arguments,
                    arguments=parse_json(tc.function.arguments),
                    output=tc.function.output,
                )
            )
        elif tc.type == "code_interpreter":
            logs = []
            images = []
            for out in tc.code_interpreter.outputs or []:
                if out.type == "logs":
                    logs.append(out.logs)
                elif out.type == "image":
                    images.append(out.image.file_id)
            calls.append(
                ToolCallRecord(
                    id=tc.id,
                    type="code_interpreter",
                    name="code_interpreter",
                    code=tc.code_interpreter.input,
                    output="".join(logs) if logs else None,
                    images=images,
                )
            )
        elif tc.type == "file_search":
            results = [
                {"file_id": r.file_id, "file_name": r.file_name, "score": r.score}
                for r in (tc.file_search.results or [])
            ]
            calls.append(
                ToolCallRecord(id=tc.id, type="file_search", name="file_search", results=results)
            )
    return StepRecord(id=step.id, type="tool_calls", status=step.status, tool_calls=calls)


def message_text(message: Message) -> tuple[str, list[CitationRecord]]:
    """The message's text parts joined, and its file citations."""
    parts: list[str] = []
    citations: list[CitationRecord] = []
    offset = 0
    for block in message.content:
        if block.type != "text":
            continue
        if parts:
            offset += 1  # the "\n" joining parts
        for ann in block.text.annotations:
            if ann.type == "file_citation":
                citations.append(
                    CitationRecord(
                        text=ann.text,
                        file_id=ann.file_citation.file_id,
                        start_index=ann.start_index + offset,
                        end_index=ann.end_index + offset,
                    )
                )
        parts.append(block.text.value)
        offset += len(block.text.value)
    return "\n".join(parts), citations
