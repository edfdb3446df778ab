"""The interface between the run engine and a model provider.

The engine turns a run into a chat-shaped :class:`ModelRequest` (system instructions,
the thread's messages, and this run's earlier tool calls with their outputs) and asks
the provider for the next step. The provider streams :class:`TextDelta` /
:class:`ToolCallDelta` items and finishes with one :class:`ModelResponse`: either a
reply text, or tool calls. Built-in tools (``file_search``, ``code_interpreter``) are
tool calls like functions, told apart by ``type``; the engine executes them itself and
asks again, while ``function`` calls end the step as ``requires_action``.

This is the same shape as ``/v1/chat/completions``, so the ``chat`` provider maps it
one to one, and the local model can serve that endpoint too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ToolType = Literal["function", "file_search", "code_interpreter"]


@dataclass
class ToolCall:
    id: str
    type: ToolType
    # Function name; "file_search" / "code_interpreter" for built-ins.
    name: str
    # JSON text: a function's arguments; {"query": ...} for file_search;
    # {"code": ...} for code_interpreter.
    arguments: str


@dataclass
class ChatMessage:
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    # For role "tool": which call this output answers.
    tool_call_id: str | None = None
    # For role "user": attachments described, e.g. file names for code interpreter.
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ToolDef:
    """A tool offered to the model (the assistant's or the run's ``tools`` entry)."""

    type: ToolType
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    strict: bool = False


@dataclass
class ModelRequest:
    model: str
    messages: list[ChatMessage]
    tools: list[ToolDef] = field(default_factory=list)
    # "auto" | "none" | "required" | {"type": "function", "function": {"name": ...}} |
    # {"type": "file_search"} | {"type": "code_interpreter"}
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    response_format: Any = None
    max_completion_tokens: int | None = None
    # Where the request comes from, so a scripted model can find the thread's script.
    thread_id: str | None = None
    run_id: str | None = None


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class TextDelta:
    text: str


@dataclass
class ToolCallDelta:
    """A piece of the index-th tool call; the first piece carries id, type and name."""

    index: int
    id: str | None = None
    type: ToolType | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class ModelResponse:
    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: Literal["stop", "tool_calls", "length"] = "stop"


class ModelError(Exception):
    """Generation failed; ``code`` becomes the run's ``last_error.code``."""

    def __init__(
        self,
        code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"],
        message: str,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Model(Protocol):
    def stream(
        self, request: ModelRequest
    ) -> AsyncIterator[TextDelta | ToolCallDelta | ModelResponse]:
        """Yield deltas as they are generated, then exactly one ModelResponse last."""
        ...
