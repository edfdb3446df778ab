"""The Assistants v2 driver: a scenario on a thread, a turn as a run.

Streaming (the default) reads the run's server-sent events through the SDK
(``runs.create(stream=True)`` and ``submit_tool_outputs(stream=True)``) and builds the
turn's record from them: no extra requests. Polling (``--poll``) follows the run with
the SDK's ``runs.poll`` and lists the run's steps and messages at the end.

On ``requires_action`` every tool call is answered (handler or mock), and all outputs
are submitted in one ``submit_tool_outputs`` call; a run may take several rounds. If any
call cannot be answered, the run is cancelled (and waited for) before the turn fails,
so nothing is left hanging on the server.

Cassettes replay through the embedded server's script queue of the thread
(:data:`orchestrator.scripting.SCRIPT_PATH`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep

from orchestrator.reconcile.identity import display_filename
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
from orchestrator.scenarios.resolve import AssistantResolver
from orchestrator.scripting import ScriptStep

TERMINAL = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})


class AssistantsDriver:
    """Scenarios on the Assistants v2 API (threads and runs)."""

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
        self.target = target
        self.stream = stream
        self.resolver = AssistantResolver(client, root, namespace, target)

    def _at(self) -> str:
        return f" at {self.target}" if self.target else ""

    async def preflight(self) -> str | None:
        return await probe(
            lambda: self.client.beta.assistants.list(limit=1),
            self._at(),
            "GET /assistants",
            " — is this an Assistants v2 server?",
        )

    async def resolve(self, key: str) -> str:
        return await self.resolver.resolve(key)

    async def start(self, setup: ConversationSetup) -> ThreadConversation:
        thread = await self.client.beta.threads.create()
        return ThreadConversation(
            client=self.client, id=thread.id, setup=setup, stream=self.stream, target=self.target
        )


@dataclass
class ThreadConversation:
    """A scenario's thread; answers its function calls with the scenario's handlers."""

    client: openai.AsyncOpenAI
    # The thread's id.
    id: str
    setup: ConversationSetup
    stream: bool = True
    target: str = ""

    async def play(
        self, turn: TurnInput, record: TurnRecord, progress: TurnProgress | None = None
    ) -> None:
        """Play the turn, filling ``record`` as it goes (a timeout keeps what was seen)."""
        progress = progress or QuietProgress()
        state = _State(record)
        try:
            await self._play(turn, state, progress)
        except BaseException:
            # Timeouts and aborted turns keep what was seen, for the failure's transcript.
            fill_record(state)
            raise

    async def _play(self, turn: TurnInput, state: _State, progress: TurnProgress) -> None:
        message: dict[str, Any] = {"role": "user", "content": turn.user}
        if turn.attachments:
            message["attachments"] = [
                {"file_id": a.file_id, "tools": [{"type": t} for t in a.tools]}
                for a in turn.attachments
            ]
        params: dict[str, Any] = {
            "assistant_id": self.setup.assistant_id,
            "additional_messages": [message],
        }
        if turn.additional_instructions is not None:
            params["additional_instructions"] = turn.additional_instructions
        if turn.tool_choice is not None:
            params["tool_choice"] = turn.tool_choice
        runs = self.client.beta.threads.runs
        if self.stream:
            async with await runs.create(self.id, stream=True, **params) as events:
                await self._consume(events, state, progress)
        else:
            run = await runs.create(self.id, **params)
            state.set_run(run)
        while True:
            run = state.require_run()
            if run.status == "requires_action" and turn.stop_at_requires_action:
                assert run.required_action is not None
                for call in run.required_action.submit_tool_outputs.tool_calls:
                    progress.tool_call(call.function.name, call.function.arguments)
                    state.requested[call.id] = (call.function.name, call.function.arguments)
                await cancel_run(self.client, self.id, run.id)
                break
            if run.status == "requires_action":
                outputs = await self._answer(run, turn.index, state, progress)
                if self.stream:
                    async with await runs.submit_tool_outputs(
                        run.id, thread_id=self.id, tool_outputs=outputs, stream=True
                    ) as events:
                        await self._consume(events, state, progress)
                else:
                    state.set_run(
                        await runs.submit_tool_outputs(
                            run.id, thread_id=self.id, tool_outputs=outputs
                        )
                    )
                continue
            if run.status in TERMINAL:
                break
            # Polling, or a stream that ended early: follow the run by polling.
            state.set_run(await runs.poll(run.id, thread_id=self.id))
        if not self.stream:
            await self._collect(state)
        await self._finish(state, progress)

    # --- stopping, scripts, cleanup -------------------------------------------------

    async def stop(self, record: TurnRecord, wait: float = 10.0) -> str | None:
        if not record.run_id:
            # Broken before the run's first event: find it on the thread.
            try:
                page = await self.client.beta.threads.runs.list(self.id, limit=1)
            except openai.APIError:
                return None
            record.run_id = page.data[0].id if page.data else None
        if not record.run_id:
            return None
        try:
            return await cancel_run(self.client, self.id, record.run_id, wait=wait)
        except openai.APIError:  # e.g. the connection is gone: nothing more to do
            return None

    async def queue_script(self, steps: list[ScriptStep]) -> None:
        await queue_script(self.client, self.id, steps, self.target)

    async def pending_script(self) -> list[dict[str, Any]]:
        return await pending_script(self.client, self.id)

    async def close(self) -> None:
        with contextlib.suppress(openai.APIError):  # best effort: the report names it
            await self.client.beta.threads.delete(self.id)

    # --- streaming --------------------------------------------------------------

    async def _consume(self, events: Any, state: _State, progress: TurnProgress) -> None:
        async for event in events:
            name: str = event.event
            data = event.data
            if name.startswith("thread.run.step."):
                if name != "thread.run.step.delta":
                    state.steps[data.id] = data
                if name == "thread.run.step.completed" and data.step_details.type == "tool_calls":
                    # Built-in tools as they finish (function calls show at requires_action).
                    for tc in data.step_details.tool_calls:
                        if tc.type == "code_interpreter":
                            progress.tool_call("code_interpreter", tc.code_interpreter.input)
                        elif tc.type == "file_search":
                            progress.tool_call("file_search", "")
            elif name.startswith("thread.run."):
                state.set_run(data)
            elif name == "thread.message.delta":
                for part in data.delta.content or []:
                    if part.type == "text" and part.text and part.text.value:
                        progress.text(part.text.value)
            elif name in ("thread.message.completed", "thread.message.incomplete"):
                state.messages[data.id] = data

    # --- polling ----------------------------------------------------------------

    async def _collect(self, state: _State) -> None:
        run = state.require_run()
        async for step in self.client.beta.threads.runs.steps.list(
            run.id, thread_id=self.id, order="asc", limit=100
        ):
            state.steps[step.id] = step
        async for msg in self.client.beta.threads.messages.list(
            self.id, run_id=run.id, order="asc", limit=100
        ):
            if msg.role == "assistant":
                state.messages[msg.id] = msg

    # --- tool calls -------------------------------------------------------------

    async def _answer(
        self, run: Run, turn_index: int, state: _State, progress: TurnProgress
    ) -> list[dict[str, str]]:
        assert run.required_action is not None
        schemas = {
            t.function.name: t.function.parameters
            for t in run.tools
            if t.type == "function" and getattr(t, "function", None) is not None
        }
        outputs: list[dict[str, str]] = []
        failures: list[HandlerFailure] = []
        for call in run.required_action.submit_tool_outputs.tool_calls:
            name, raw = call.function.name, call.function.arguments
            progress.tool_call(name, raw)
            # Before answering: a turn that times out in a handler still shows the call.
            state.requested[call.id] = (name, raw)
            answer = await answer_call(
                name,
                raw,
                schema=schemas.get(name),
                modules=self.setup.handler_modules,
                mocks=self.setup.mocks,
                context=HandlerContext(
                    thread_id=self.id,
                    run_id=run.id,
                    scenario=self.setup.scenario,
                    vars=dict(self.setup.vars),
                    turn=turn_index,
                    tool_call_id=call.id,
                ),
            )
            if answer.failure is not None:
                failures.append(answer.failure)
            else:
                assert answer.output is not None
                state.answers[call.id] = (answer.output, answer.source)
                outputs.append({"tool_call_id": call.id, "output": answer.output})
        if failures:
            status = await cancel_run(self.client, self.id, run.id)
            state.record.status = status
            raise TurnAborted(failures, status)
        return outputs

    # --- the record -------------------------------------------------------------

    async def _finish(self, state: _State, progress: TurnProgress) -> None:
        record = state.record
        run = state.require_run()
        record.status = run.status
        record.model = run.model
        record.last_error = (
            {"code": run.last_error.code, "message": run.last_error.message}
            if run.last_error
            else None
        )
        record.incomplete_reason = run.incomplete_details.reason if run.incomplete_details else None
        record.usage = run.usage.model_dump() if run.usage else None
        fill_record(state)
        if not self.stream:  # streaming told the reporter as the steps completed
            for c in record.tool_calls:
                if c.type != "function":
                    progress.tool_call(c.name, c.code or "")
        # File names as the user wrote them: `orchestrator apply` uploads files under their
        # own names; earlier versions used a hash-tagged one (<sha>-<ns tag>--<name>).
        names: dict[str, str] = {}
        for c in record.tool_calls:
            for r in c.results:
                if r.get("file_name"):
                    r["file_name"] = display_filename(r["file_name"])
                    names[r["file_id"]] = r["file_name"]
        for cite in record.citations:
            name = names.get(cite.file_id)
            if name is None and self.setup.filename_of is not None:
                name = await self.setup.filename_of(cite.file_id)
            cite.filename = display_filename(name) if name else None


@dataclass
class _State:
    record: TurnRecord
    run: Run | None = None
    steps: dict[str, RunStep] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    # call id -> (output, "handler" | "mock"), and call id -> (name, raw arguments).
    answers: dict[str, tuple[str, str]] = field(default_factory=dict)
    requested: dict[str, tuple[str, str]] = field(default_factory=dict)

    def set_run(self, run: Run) -> None:
        self.run = run
        self.record.run_id = run.id
        self.record.status = run.status

    def require_run(self) -> Run:
        if self.run is None:
            raise RuntimeError("the server's event stream ended before it sent the run")
        return self.run


def fill_record(state: _State) -> None:
    """Steps, replies and citations into the record (also for a partial turn)."""
    record = state.record
    ordered = sorted(state.steps.values(), key=lambda s: (s.created_at, s.id))
    record.steps = [step_record(s) for s in ordered]
    for call in record.tool_calls:
        if call.id in state.answers:
            call.output, call.output_source = state.answers[call.id]
    # Calls the run asked for but whose step we never saw (e.g. a cancelled turn).
    seen = {c.id for c in record.tool_calls}
    missing = [cid for cid in state.requested if cid not in seen]
    if missing:
        calls = [
            ToolCallRecord(
                id=cid,
                type="function",
                name=state.requested[cid][0],
                raw_arguments=state.requested[cid][1],
                arguments=parse_json(state.requested[cid][1]),
                output=state.answers.get(cid, (None, ""))[0],
                output_source=state.answers.get(cid, (None, ""))[1],
            )
            for cid in missing
        ]
        # A streamed step is created before its calls arrive (as deltas): that step.
        empty = [s for s in record.steps if s.type == "tool_calls" and not s.tool_calls]
        if empty:
            empty[-1].tool_calls = calls
        else:
            record.steps.append(
                StepRecord(id="", type="tool_calls", status=record.status or "", tool_calls=calls)
            )
    # Replies in the order of their message_creation steps, then any others.
    by_id = dict(state.messages)
    order = [s.message_id for s in record.steps if s.message_id]
    msgs = [by_id.pop(mid) for mid in order if mid in by_id] + sorted(
        by_id.values(), key=lambda m: (m.created_at, m.id)
    )
    record.replies = []
    record.citations = []
    for m in msgs:
        if m.role != "assistant":
            continue
        text, cites = message_text(m)
        record.replies.append(text)
        record.citations.extend(cites)


async def cancel_run(
    client: openai.AsyncOpenAI, thread_id: str, run_id: str, wait: float = 10.0
) -> str | None:
    """Cancel a run and wait until it is no longer active; its final status."""
    runs = client.beta.threads.runs
    try:
        run = await runs.cancel(run_id, thread_id=thread_id)
    except openai.APIStatusError:
        # Already finished (or gone): read where it ended up.
        try:
            run = await runs.retrieve(run_id, thread_id=thread_id)
        except openai.APIError:
            return None

    async def read() -> str:
        return (await runs.retrieve(run_id, thread_id=thread_id)).status

    return await settle(run.status, read, TERMINAL, wait)


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
