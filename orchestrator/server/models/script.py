"""Scripts: what the local model does next on a thread, step by step.

A script is queued for a thread through the extension endpoint
``POST /v1/x-orchestrator/threads/{thread_id}/script`` (body: :class:`Script`). While
steps remain, the local model answers each model request of that thread with the next
step instead of its own policy. The scenario runner's cassettes hold the same steps,
one list per turn, so a recorded conversation replays exactly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScriptFunctionCall(_Strict):
    type: Literal["function"] = "function"
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptCodeCall(_Strict):
    type: Literal["code_interpreter"] = "code_interpreter"
    code: str


class ScriptFileSearchCall(_Strict):
    type: Literal["file_search"] = "file_search"
    query: str


ScriptToolCall = ScriptFunctionCall | ScriptCodeCall | ScriptFileSearchCall


class ScriptStep(_Strict):
    """One model step: either tool calls (made together) or a reply."""

    tool_calls: list[ScriptToolCall] = Field(default_factory=list)
    reply: str | None = None

    def model_post_init(self, __context: Any) -> None:
        if bool(self.tool_calls) == (self.reply is not None):
            raise ValueError("a script step has either tool_calls or a reply, not both or neither")


class Script(_Strict):
    steps: list[ScriptStep]
    # replace: drop what is still queued first (one turn's steps at a time).
    mode: Literal["append", "replace"] = "append"
