"""Script steps: the wire contract between the scenario runner's cassettes and the
embedded server's scripted local model.

A script is what the local model does next on a thread, step by step: tool calls
(made together) or a reply. The server queues one per thread at :data:`SCRIPT_PATH`
(``POST`` a :class:`Script`, ``GET`` what is pending, ``DELETE`` to clear it; see
``orchestrator/server/providers/script.py``); a cassette holds the same steps, one
list per turn (``orchestrator/scenarios/cassettes.py``). Both sides import the models
from here, so neither depends on the other.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Under the API's base URL (``.../v1``).
SCRIPT_PATH = "/x-orchestrator/threads/{thread_id}/script"


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
    """The body of ``POST`` :data:`SCRIPT_PATH`."""

    steps: list[ScriptStep]
    # replace: drop what is still queued first (one turn's steps at a time).
    mode: Literal["append", "replace"] = "append"
