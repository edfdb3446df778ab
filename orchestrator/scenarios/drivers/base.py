"""The seam between the scenario runner and the wire API a target speaks.

The runner (timeouts, cassettes, expectations, reports) talks only to a
:class:`Driver` and the :class:`Conversation` it starts; a driver plays turns on one
API and fills the API-neutral :class:`~orchestrator.scenarios.observed.TurnRecord`
that expectations, transcripts and cassettes read. :mod:`.assistants` speaks the
Assistants v2 API (threads and runs), :mod:`.responses` today's OpenAI (Conversations
and Responses); another API plugs in as a new driver without touching the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import openai

from orchestrator.scenarios.handlers import HandlerFailure
from orchestrator.scenarios.observed import TurnRecord
from orchestrator.scripting import SCRIPT_PATH, ScriptStep


@dataclass(frozen=True)
class Attachment:
    """A file given with a user message, and the built-in tools that may read it."""

    file_id: str
    tools: tuple[str, ...] = ()


@dataclass
class TurnInput:
    """Everything a turn sends."""

    index: int
    user: str
    attachments: list[Attachment] = field(default_factory=list)
    additional_instructions: str | None = None
    tool_choice: Any = None
    # The turn expects to end at requires_action: record the calls, answer none of them
    # (and stop the run, so nothing is left waiting on the server).
    stop_at_requires_action: bool = False


class TurnProgress(Protocol):
    """What a reporter hears while a turn plays (all optional to act on)."""

    def tool_call(self, name: str, detail: str) -> None: ...
    def text(self, delta: str) -> None: ...


class QuietProgress:
    def tool_call(self, name: str, detail: str) -> None:
        pass

    def text(self, delta: str) -> None:
        pass


class TurnAborted(Exception):
    """The turn cannot go on (a tool call could not be answered); the run was stopped."""

    def __init__(self, failures: list[HandlerFailure], run_status: str | None) -> None:
        super().__init__("; ".join(f.message for f in failures))
        self.failures = failures
        self.run_status = run_status


class ScriptUnsupported(Exception):
    """The target cannot queue script steps (cassette replay); the message says what it
    answered."""


@dataclass(frozen=True)
class ConversationSetup:
    """What a scenario's conversation needs: the assistant and what answers its calls."""

    assistant_id: str
    scenario: str
    handler_modules: list[Path]
    mocks: dict[str, Any]
    vars: dict[str, Any]
    # Resolves a cited file's id to its name (shared by the run's scenarios).
    filename_of: Callable[[str], Awaitable[str | None]] | None = None


class Conversation(Protocol):
    """One scenario's conversation on the server (a thread, a Conversation, ...)."""

    # The server's id of the conversation (reports show it as the thread id).
    id: str

    async def play(
        self, turn: TurnInput, record: TurnRecord, progress: TurnProgress | None = None
    ) -> None:
        """Play a turn, filling ``record`` as it goes: a turn cut short (timeout,
        cancellation, a broken stream) keeps what was seen. Raises
        :class:`TurnAborted` when a tool call cannot be answered (after stopping the
        run) and ``openai.APIError`` when the server fails."""
        ...

    async def stop(self, record: TurnRecord, wait: float = 10.0) -> str | None:
        """Stop the turn's run if it is still going (finding it when its first event
        never arrived, setting ``record.run_id``) and wait up to ``wait`` seconds for
        it to end; its final status, None if there is none or it cannot be read."""
        ...

    async def queue_script(self, steps: list[ScriptStep]) -> None:
        """Make the model follow ``steps`` next (cassette replay); raises
        :class:`ScriptUnsupported` when the target cannot."""
        ...

    async def pending_script(self) -> list[dict[str, Any]]:
        """Script steps queued but not taken (a replay that went off course)."""
        ...

    async def close(self) -> None:
        """Delete the conversation on the server (best effort)."""
        ...


class Driver(Protocol):
    """Plays scenarios on one wire API of a target."""

    async def preflight(self) -> str | None:
        """One cheap request: None when the target answers as this API should, else
        the problem in one line."""
        ...

    async def resolve(self, key: str) -> str:
        """The server's id of the assistant applied under ``key``; raises
        :class:`~orchestrator.scenarios.resolve.AssistantNotFound`."""
        ...

    async def start(self, setup: ConversationSetup) -> Conversation:
        """A fresh conversation for one scenario."""
        ...


def api_message(exc: openai.APIStatusError) -> str:
    """The server's own error message, else the SDK's."""
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return exc.message


async def probe(
    request: Callable[[], Awaitable[object]], at: str, asked: str, hint: str = ""
) -> str | None:
    """A driver's preflight: None when ``request`` (one cheap read, ``asked`` names it)
    succeeds, else the problem in one line (``at``: " at <target>" or "")."""
    try:
        await request()
    except openai.APIConnectionError as exc:
        return f"cannot reach the server{at}: {exc.__cause__ or exc}"
    except openai.AuthenticationError as exc:
        return (
            f"the server{at} rejected the API key ({api_message(exc)}); "
            "set OPENAI_API_KEY or --api-key"
        )
    except openai.APIStatusError as exc:
        return f"the server{at} answered {exc.status_code} to {asked}: {api_message(exc)}{hint}"
    return None


async def queue_script(
    client: openai.AsyncOpenAI, conversation_id: str, steps: list[ScriptStep], target: str
) -> None:
    """Queue a turn's steps as the script of a thread or Conversation on the embedded
    server (replacing anything left); :class:`ScriptUnsupported` elsewhere."""
    body = {
        "steps": [s.model_dump(mode="json", exclude_none=True) for s in steps],
        "mode": "replace",
    }
    try:
        await client.post(SCRIPT_PATH.format(thread_id=conversation_id), body=body, cast_to=object)
    except (openai.NotFoundError, openai.UnprocessableEntityError) as exc:
        raise ScriptUnsupported(
            f"{target or 'the target'} cannot replay cassettes: "
            f"POST {SCRIPT_PATH.format(thread_id='{id}')} answered {exc.status_code} "
            f"({api_message(exc)}); replay needs the embedded server or "
            "`orchestrator serve` — run with --live against other servers"
        ) from None


async def pending_script(client: openai.AsyncOpenAI, conversation_id: str) -> list[dict[str, Any]]:
    """Script steps queued for a thread or Conversation but not taken."""
    data = await client.get(SCRIPT_PATH.format(thread_id=conversation_id), cast_to=object)
    pending = data.get("pending") if isinstance(data, dict) else None
    return pending if isinstance(pending, list) else []


async def settle(
    status: str, read: Callable[[], Awaitable[str]], terminal: frozenset[str], wait: float
) -> str | None:
    """Read a run or response again (backing off) until its status is in ``terminal`` or
    ``wait`` seconds passed; the last status, None when it cannot be read."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    delay = 0.02
    while status not in terminal and loop.time() < deadline:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)
        try:
            status = await read()
        except openai.APIError:
            return None
    return status
