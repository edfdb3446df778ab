"""The Responses driver (``api: openai``): a scenario on a Conversation, a turn as responses.

An assistant is its Responses profile (the lock file's ``profiles``, written by
``orchestrator apply``; :mod:`orchestrator.runtime.profiles`). Each turn sends the
profile's parameters with the user's text on the scenario's Conversation;
``function_call`` items are answered by the scenario's handlers (arguments checked
against the profile's schema, as :func:`orchestrator.runtime.respond` does) and sent back
as ``function_call_output`` items until the model replies. A turn is therefore one or
more responses; the record's ``run_id`` is the latest.

Streaming (the default) reads each response's events, as applications do. ``--poll``
creates responses in background mode and polls them, so a turn that times out can be
cancelled (the API cancels only background responses; a streamed one that times out
is left to finish, and its status is reported).

How the Assistants notions map (so one scenario file runs on both APIs):

- steps: the output items, with the tool calls of one response that follow each other
  as one ``tool_calls`` step (answered together, like one ``requires_action``), each
  ``message`` a ``message_creation`` step; reasoning items are not steps;
- ``status: requires_action``: the turn ends at the function calls, answers none, and
  removes them from the Conversation (as cancelling the run does), so a later turn can
  go on;
- citations: the ``file_citation`` annotations (no marker text in Responses: a
  citation is a file and a position);
- attachments: a file for the code interpreter joins the container's files of this and
  later turns; a file for file search goes into a vector store of the conversation
  (made on first use, deleted with it), searched with the profile's stores;
- usage: summed over the turn's responses, named as on runs (``prompt_tokens``,
  ``completion_tokens``, ``total_tokens``).

Cassettes replay through the embedded server's script queue of the conversation
(:data:`orchestrator.scripting.SCRIPT_PATH`); a recorded file-search step carries the
query the model really sent (Responses exposes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from orchestrator.reconcile.identity import display_filename
from orchestrator.runtime.profiles import Profile, ProfileError, load_profile
from orchestrator.runtime.respond import MAX_ROUNDS
from orchestrator.scenarios.drivers.base import (
    ConversationSetup,
    QuietProgress,
    TurnAborted,
    TurnInput,
    TurnProgress,
    pending_script,
    probe,
    queue_script,
    settle,
)
from orchestrator.scenarios.handlers import HandlerContext, HandlerFailure, answer_call
from orchestrator.scenarios.observed import (
    CitationRecord,
    StepRecord,
    ToolCallRecord,
    TurnRecord,
    parse_json,
)
from orchestrator.scenarios.resolve import AssistantNotFound
from orchestrator.scripting import ScriptStep

TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete"})
FINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})
TOOL_ITEMS = frozenset({"function_call", "file_search_call", "code_interpreter_call"})
# What the record shows of built-in calls is not in an item unless asked for.
INCLUDE_FOR = {
    "file_search": "file_search_call.results",
    "code_interpreter": "code_interpreter_call.outputs",
}


class ResponsesDriver:
    """Scenarios over the Responses and Conversations APIs, with the lock file's profiles."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        root: Path | None,
        namespace: str,
        target: str = "",
        stream: bool = True,
    ) -> None:
        self.client = client
        self.root = root
        self.namespace = namespace
        self.target = target
        self.stream = stream
        self.profiles: dict[str, Profile] = {}

    def _at(self) -> str:
        return f" at {self.target}" if self.target else ""

    async def preflight(self) -> str | None:
        return await probe(lambda: self.client.files.list(limit=1), self._at(), "GET /files")

    async def resolve(self, key: str) -> str:
        """The assistant's key itself, once its profile is found in the lock file."""
        if key not in self.profiles:
            try:
                self.profiles[key] = load_profile(key, self.root or ".", namespace=self.namespace)
            except ProfileError as exc:
                raise AssistantNotFound(
                    f"assistant {key!r} has no Responses profile (namespace "
                    f"{self.namespace!r}): {exc}"
                ) from None
        return key

    async def start(self, setup: ConversationSetup) -> ResponsesConversation:
        await self.resolve(setup.assistant_id)
        conv = await self.client.conversations.create(
            metadata={"orchestrator-scenario": setup.scenario[:512]}
        )
        return ResponsesConversation(
            client=self.client,
            id=conv.id,
            setup=setup,
            profile=self.profiles[setup.assistant_id],
            stream=self.stream,
            target=self.target,
        )


@dataclass
class _Turn:
    record: TurnRecord
    responses: list[Any] = field(default_factory=list)
    # call id -> (output, "handler" | "mock").
    answers: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class ResponsesConversation:
    """A scenario's Conversation; answers its function calls with the scenario's handlers."""

    client: openai.AsyncOpenAI
    # The Conversation's id.
    id: str
    setup: ConversationSetup
    profile: Profile
    stream: bool = True
    target: str = ""
    # Attached files of earlier turns stay in reach, as on a thread.
    code_files: list[str] = field(default_factory=list)
    search_store: str | None = None

    async def play(
        self, turn: TurnInput, record: TurnRecord, progress: TurnProgress | None = None
    ) -> None:
        progress = progress or QuietProgress()
        state = _Turn(record)
        try:
            await self._play(turn, state, progress)
        finally:
            # Also for a turn cut short: what was seen stays in the record.
            fill_record(state)
        await self._names(record)
        if not self.stream:  # streaming told the reporter as the items completed
            for c in record.tool_calls:
                if c.type != "function":
                    progress.tool_call(c.name, c.code or "")

    # --- the request --------------------------------------------------------------

    async def _request(self, turn: TurnInput) -> dict[str, Any]:
        request = copy.deepcopy(self.profile.request)
        if turn.additional_instructions is not None:
            base = request.get("instructions") or ""
            request["instructions"] = f"{base}\n\n{turn.additional_instructions}".lstrip()
        if turn.tool_choice is not None:
            request["tool_choice"] = responses_tool_choice(turn.tool_choice)
        await self._attach(turn)
        tools: list[dict[str, Any]] = request.setdefault("tools", [])
        if self.code_files:
            tool = _tool(tools, "code_interpreter", {"container": {"type": "auto"}})
            container = tool.setdefault("container", {"type": "auto"})
            if isinstance(container, dict):
                ids = container.setdefault("file_ids", [])
                ids.extend(f for f in self.code_files if f not in ids)
        if self.search_store is not None:
            tool = _tool(tools, "file_search", {"vector_store_ids": []})
            tool["vector_store_ids"] = [*tool.get("vector_store_ids", []), self.search_store]
        if not tools:
            del request["tools"]
        include = list(request.get("include") or [])
        for t in tools:
            wanted = INCLUDE_FOR.get(t.get("type", ""))
            if wanted and wanted not in include:
                include.append(wanted)
        if include:
            request["include"] = include
        return request

    async def _attach(self, turn: TurnInput) -> None:
        for a in turn.attachments:
            if "code_interpreter" in a.tools and a.file_id not in self.code_files:
                self.code_files.append(a.file_id)
            if "file_search" in a.tools:
                if self.search_store is None:
                    store = await self.client.vector_stores.create(
                        name=f"scenario {self.setup.scenario}"[:256],
                        metadata={"orchestrator-conversation": self.id},
                    )
                    self.search_store = store.id
                await self.client.vector_stores.files.create_and_poll(
                    a.file_id, vector_store_id=self.search_store, poll_interval_ms=50
                )

    # --- playing ------------------------------------------------------------------

    async def _play(self, turn: TurnInput, state: _Turn, progress: TurnProgress) -> None:
        request = await self._request(turn)
        items: Any = turn.user
        for rounds in range(1, MAX_ROUNDS + 1):
            response = await self._create(request, items, state, progress)
            calls = [i for i in response.output if i.type == "function_call"]
            if response.status != "completed" or not calls:
                return
            if turn.stop_at_requires_action:
                for call in calls:
                    progress.tool_call(call.name, call.arguments)
                state.record.status = "requires_action"
                await self._withdraw(calls)
                return
            if rounds == MAX_ROUNDS:
                break
            items = await self._answer(calls, response.id, turn.index, state, progress)
        # A loop: the calls of the last round stay unanswered.
        await self._withdraw(calls)
        state.record.status = "cancelled"
        looping = HandlerFailure(
            kind="loop",
            tool=", ".join(c.name for c in calls),
            arguments="; ".join(c.arguments for c in calls),
            message=f"the model was still calling functions after {MAX_ROUNDS} rounds in one "
            "turn (each answered by its handler)",
        )
        raise TurnAborted([looping], "cancelled")

    async def _create(
        self, request: dict[str, Any], items: Any, state: _Turn, progress: TurnProgress
    ) -> Any:
        params = {**request, "conversation": self.id, "input": items}
        record = state.record
        responses = self.client.responses
        if self.stream:
            response = None
            async with await responses.create(**params, stream=True) as events:
                async for event in events:
                    if event.type == "response.created":
                        record.run_id = event.response.id
                        record.status = event.response.status
                    elif event.type == "response.output_text.delta":
                        progress.text(event.delta)
                    elif event.type == "response.output_item.done" and event.item.type in (
                        "code_interpreter_call",
                        "file_search_call",
                    ):
                        item = event.item
                        code = item.code if item.type == "code_interpreter_call" else None
                        progress.tool_call(item.type.removesuffix("_call"), code or "")
                    elif event.type in FINAL_EVENTS:
                        response = event.response
            if response is None:
                raise RuntimeError("the server's event stream ended before the response did")
        else:
            response = await responses.create(**params, background=True)
            record.run_id = response.id
            include = request.get("include") or []
            delay = 0.02
            while response.status not in TERMINAL:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
                response = await responses.retrieve(response.id, include=include)
        state.responses.append(response)
        record.run_id = response.id
        record.status = response.status
        return response

    async def _answer(
        self,
        calls: list[Any],
        response_id: str,
        turn_index: int,
        state: _Turn,
        progress: TurnProgress,
    ) -> list[dict[str, str]]:
        outputs: list[dict[str, str]] = []
        failures: list[HandlerFailure] = []
        for call in calls:
            progress.tool_call(call.name, call.arguments)
            answer = await answer_call(
                call.name,
                call.arguments,
                schema=self.profile.function_schema(call.name),
                modules=self.setup.handler_modules,
                mocks=self.setup.mocks,
                context=HandlerContext(
                    thread_id=self.id,
                    run_id=response_id,
                    scenario=self.setup.scenario,
                    vars=dict(self.setup.vars),
                    turn=turn_index,
                    tool_call_id=call.call_id,
                ),
            )
            if answer.failure is not None:
                failures.append(answer.failure)
                continue
            assert answer.output is not None
            state.answers[call.call_id] = (answer.output, answer.source)
            outputs.append(
                {"type": "function_call_output", "call_id": call.call_id, "output": answer.output}
            )
        if failures:
            # No response is waiting for the outputs: nothing is left running. The calls
            # leave the Conversation, as a cancelled run's do.
            await self._withdraw(calls)
            state.record.status = "cancelled"
            raise TurnAborted(failures, "cancelled")
        return outputs

    async def _withdraw(self, calls: list[Any]) -> None:
        """Remove unanswered function calls from the Conversation, so that the next
        turn is not refused for a call without output."""
        for call in calls:
            with contextlib.suppress(openai.NotFoundError):
                await self.client.conversations.items.delete(call.id, conversation_id=self.id)

    async def _names(self, record: TurnRecord) -> None:
        for cite in record.citations:
            if cite.filename is None and self.setup.filename_of is not None:
                name = await self.setup.filename_of(cite.file_id)
                cite.filename = display_filename(name) if name else None

    # --- stopping, scripts, cleanup -------------------------------------------------

    async def stop(self, record: TurnRecord, wait: float = 10.0) -> str | None:
        """Cancel the turn's latest response (background ones: ``--poll``) and wait for
        it to end; a streamed one cannot be cancelled, its current status is returned."""
        rid = record.run_id
        if not rid:
            return None
        responses = self.client.responses
        try:
            response = await responses.cancel(rid)
        except openai.BadRequestError:
            # Not a background response (or finished already): read where it is.
            try:
                return (await responses.retrieve(rid)).status
            except openai.APIError:
                return None
        except openai.APIError:
            return None

        async def read() -> str:
            return (await responses.retrieve(rid)).status

        return await settle(response.status, read, TERMINAL, wait)

    async def queue_script(self, steps: list[ScriptStep]) -> None:
        await queue_script(self.client, self.id, steps, self.target)

    async def pending_script(self) -> list[dict[str, Any]]:
        return await pending_script(self.client, self.id)

    async def close(self) -> None:
        # Best effort: the report names the conversation.
        with contextlib.suppress(openai.APIError):
            await self.client.conversations.delete(self.id)
        if self.search_store is not None:
            with contextlib.suppress(openai.APIError):
                await self.client.vector_stores.delete(self.search_store)


def _tool(tools: list[dict[str, Any]], kind: str, new: dict[str, Any]) -> dict[str, Any]:
    """The request's tool of ``kind`` (a copy of the profile's), added when missing."""
    for t in tools:
        if t.get("type") == kind:
            return t
    tool = {"type": kind, **new}
    tools.append(tool)
    return tool


def responses_tool_choice(choice: Any) -> Any:
    """A scenario's ``tool_choice`` (the Assistants form) in the Responses form."""
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        return {"type": "function", "name": name}
    return choice


# --- the record --------------------------------------------------------------------


def fill_record(state: _Turn) -> None:
    """Steps, replies, citations, model and usage of the turn's responses, in order."""
    record = state.record
    record.steps, record.replies, record.citations = [], [], []
    for response in state.responses:
        group: StepRecord | None = None
        for item in response.output:
            if item.type in TOOL_ITEMS:
                if group is None:
                    group = StepRecord(id=item.id, type="tool_calls", status=item.status or "")
                    record.steps.append(group)
                group.tool_calls.append(tool_call_record(item, state.answers))
                if item.status and item.status != "completed":
                    group.status = item.status
                continue
            group = None
            if item.type == "message":
                record.steps.append(
                    StepRecord(
                        id=item.id,
                        type="message_creation",
                        status=item.status,
                        message_id=item.id,
                    )
                )
                text, cites = message_text(item)
                record.replies.append(text)
                record.citations.extend(cites)
    if not state.responses:
        return
    last = state.responses[-1]
    if record.status not in ("requires_action", "cancelled"):
        record.status = last.status
    record.model = last.model
    record.last_error = (
        {"code": str(last.error.code), "message": last.error.message} if last.error else None
    )
    details = last.incomplete_details
    record.incomplete_reason = details.reason if details else None
    record.usage = usage(state.responses)


def tool_call_record(item: Any, answers: dict[str, tuple[str, str]]) -> ToolCallRecord:
    if item.type == "function_call":
        output, source = answers.get(item.call_id, (None, ""))
        return ToolCallRecord(
            id=item.call_id,
            type="function",
            name=item.name,
            raw_arguments=item.arguments,
            arguments=parse_json(item.arguments),
            output=output,
            output_source=source,
        )
    if item.type == "code_interpreter_call":
        logs = [o.logs for o in item.outputs or [] if o.type == "logs"]
        return ToolCallRecord(
            id=item.id,
            type="code_interpreter",
            name="code_interpreter",
            code=item.code,
            output="".join(logs) if logs else None,
        )
    results = [
        {
            "file_id": r.file_id,
            "file_name": display_filename(r.filename) if r.filename else None,
            "score": r.score,
        }
        for r in item.results or []
    ]
    return ToolCallRecord(
        id=item.id,
        type="file_search",
        name="file_search",
        arguments={"queries": list(item.queries or [])},
        results=results,
    )


def message_text(item: Any) -> tuple[str, list[CitationRecord]]:
    """The message's text parts joined, and its file citations."""
    parts: list[str] = []
    citations: list[CitationRecord] = []
    offset = 0
    for part in item.content:
        if part.type != "output_text":
            continue
        if parts:
            offset += 1  # the "\n" joining parts
        for ann in part.annotations:
            if ann.type == "file_citation":
                citations.append(
                    CitationRecord(
                        text="",
                        file_id=ann.file_id,
                        filename=display_filename(ann.filename) if ann.filename else None,
                        start_index=ann.index + offset,
                        end_index=ann.index + offset,
                    )
                )
        parts.append(part.text)
        offset += len(part.text)
    return "\n".join(parts), citations


def usage(responses: list[Any]) -> dict[str, int] | None:
    """The turn's token counts, named as a run's usage is."""
    total = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    seen = False
    for r in responses:
        if r.usage is None:
            continue
        seen = True
        total["prompt_tokens"] += r.usage.input_tokens
        total["completion_tokens"] += r.usage.output_tokens
        total["total_tokens"] += r.usage.total_tokens
    return total if seen else None
