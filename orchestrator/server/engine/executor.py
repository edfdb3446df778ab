"""Executing one run: ask the model, stream its reply or tool calls, run the tools.

One :class:`RunExecutor` takes a run from ``queued`` until it is finished or waits for
function outputs (``requires_action``). Each model round is streamed: text deltas
become ``thread.message.delta`` events of a ``message_creation`` step, tool call
deltas become ``thread.run.step.delta`` events of a ``tool_calls`` step. Built-in
tools run through :mod:`.file_search_call` (the search index) and :mod:`.code_call`
(only the sandbox), and the model is asked again with their outputs; ``function``
calls end the slice as ``requires_action``. Reply text is cut into deltas by
:mod:`.citations`. This module is the Assistants surface's part of the engine: it
turns those neutral results into run steps, messages and their events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.server.engine.citations import CitationStream
from orchestrator.server.engine.code_call import code_inputs, run_code_call
from orchestrator.server.engine.file_search_call import ranking, run_file_search
from orchestrator.server.ids import new_id, now
from orchestrator.server.objects import (
    image_file_part,
    new_message,
    new_step,
    run_tool_call,
    text_part,
    usage_dict,
)
from orchestrator.server.prompt import (
    build_request,
    estimate_tokens,
    merge_resources,
    thread_messages,
    tool_defs,
)
from orchestrator.server.providers.base import (
    ChatMessage,
    ModelError,
    ModelRequest,
    ModelResponse,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDef,
)
from orchestrator.server.services.files import get_file
from orchestrator.server.store import HistoryMessage

if TYPE_CHECKING:
    from orchestrator.server.engine.runs import Engine
    from orchestrator.server.tools.code_interpreter import CodeFile

log = logging.getLogger("orchestrator.server.engine")

# Tool rounds (model asks for tools, the engine runs them) one run may take.
MAX_TOOL_ROUNDS = 10


@dataclass
class _OpenCall:
    position: int
    id: str
    type: str
    name: str
    arguments: str = ""


@dataclass
class _Round:
    message: dict[str, Any] | None = None
    message_step: dict[str, Any] | None = None
    text_index: int = 0
    streamed: str = ""
    stream: CitationStream | None = None
    message_closed: bool = False
    tool_step: dict[str, Any] | None = None
    calls: dict[int, _OpenCall] = field(default_factory=dict)
    late_text: str = ""
    response: ModelResponse | None = None


class RunExecutor:
    def __init__(self, engine: Engine, run_id: str) -> None:
        self.engine = engine
        self.store = engine.store
        self.run_id = run_id
        self._code_inputs: list[CodeFile] | None = None
        self._messages: list[HistoryMessage] = []
        self._state: _Round | None = None
        # Tool call ids already used in this run: each must answer to one call only.
        self._used_ids: set[str] = set()

    async def execute(self) -> None:
        e = self.engine
        run = self.store.require("run", self.run_id)
        run = e.set_run(
            self.run_id,
            "thread.run.in_progress",
            status="in_progress",
            started_at=run["started_at"] or now(),
        )
        thread = self.store.require("thread", run["thread_id"])
        assistant = self.store.get("assistant", run["assistant_id"])
        self.resources = merge_resources(
            (assistant or {}).get("tool_resources"),
            thread.get("tool_resources"),
            run.get("tool_resources"),
        )
        tools = tool_defs(run["tools"], self.resources)
        # In a worker thread: a long thread's history is CPU work the event loop (every
        # other request) must not wait for.
        history = await asyncio.to_thread(self._history, run["thread_id"])
        self._used_ids = set(e.private(self.run_id)["calls"])
        try:
            while True:
                if not await self._round(run, history, tools):
                    return
        except asyncio.CancelledError:
            # Cancelled or expired mid-round: keep what was produced so far.
            self._save_partial()
            raise
        except ModelError as exc:
            self._save_partial()
            e.finalize(self.run_id, "failed", last_error={"code": exc.code, "message": exc.message})

    def _history(self, thread_id: str) -> list[ChatMessage]:
        """The thread read once per run: its history, attachment names and code inputs
        all come from this list (no message can be added while the run is active)."""
        self._messages = self.store.thread_history(thread_id)
        return thread_messages(self._messages, self.run_id, self._attachment_names())

    def _request(
        self,
        run: dict[str, Any],
        history: list[ChatMessage],
        steps: list[dict[str, Any]],
        private: dict[str, Any],
        tools: list[ToolDef],
        prompt_budget: int | None,
        completion_budget: int | None,
    ) -> tuple[ModelRequest, bool]:
        """This round's model request, and whether it is over the prompt budget."""
        request = build_request(
            run,
            history,
            steps,
            self.store,
            private["calls"],
            tools,
            prompt_budget=prompt_budget,
            completion_budget=completion_budget,
        )
        over = (
            prompt_budget is not None and estimate_tokens(request.messages, tools) > prompt_budget
        )
        return request, over

    def _save_partial(self) -> None:
        """Store the open message's text and the announced tool calls of an interrupted
        round (the events already carried them; the stored objects catch up)."""
        state = self._state
        if state is None:
            return
        if state.message is not None and not state.message_closed and state.streamed:
            annotations = state.stream.annotate_all(state.streamed) if state.stream else []
            content = [*state.message["content"], text_part(state.streamed, annotations)]
            self.store.mutate("message", state.message["id"], lambda m: m.update(content=content))
        if state.tool_step is not None and state.calls:
            stored = self.store.get("run_step", state.tool_step["id"])
            if stored is not None and not stored["step_details"]["tool_calls"]:
                run = self.store.require("run", self.run_id)
                calls = sorted(state.calls.values(), key=lambda c: c.position)
                details = {
                    "type": "tool_calls",
                    "tool_calls": [self._stored_call(run, c) for c in calls],
                }
                self.store.mutate(
                    "run_step", state.tool_step["id"], lambda st: st.update(step_details=details)
                )

    # -- one model round ------------------------------------------------------------

    async def _round(
        self, run: dict[str, Any], history: list[ChatMessage], tools: list[ToolDef]
    ) -> bool:
        """Ask the model once and act on the answer; True to ask again."""
        e = self.engine
        steps = self.store.all("run_step", parent=self.run_id)
        rounds = sum(1 for s in steps if s["type"] == "tool_calls")
        if rounds >= _max_rounds(e.config):
            e.finalize(
                self.run_id,
                "failed",
                last_error={
                    "code": "server_error",
                    "message": f"The run made {rounds} rounds of tool calls without a final "
                    "reply and was stopped. Check the tools' outputs, or force a reply with "
                    "tool_choice 'none'.",
                },
            )
            return False
        used_prompt, used_completion = e.run_usage(self.run_id)
        prompt_budget = completion_budget = None
        if run.get("max_prompt_tokens") is not None:
            prompt_budget = run["max_prompt_tokens"] - used_prompt
        if run.get("max_completion_tokens") is not None:
            completion_budget = run["max_completion_tokens"] - used_completion
            if completion_budget <= 0:
                e.finalize(self.run_id, "incomplete", incomplete_reason="max_completion_tokens")
                return False
        private = e.private(self.run_id)
        # In a worker thread too: truncation and the estimate count the whole history.
        request, over_budget = await asyncio.to_thread(
            self._request, run, history, steps, private, tools, prompt_budget, completion_budget
        )
        if over_budget:
            e.finalize(self.run_id, "incomplete", incomplete_reason="max_prompt_tokens")
            return False

        state = self._state = _Round()
        await self._stream_model(request, state, run, private)
        response = state.response
        assert response is not None
        usage = usage_dict(response.usage.prompt_tokens, response.usage.completion_tokens)

        if not response.tool_calls:
            text = response.text if response.text is not None else state.streamed + state.late_text
            if state.message is None:
                self._open_message(state, run, private)
            if text.startswith(state.streamed) and len(text) > len(state.streamed):
                self._emit_text(state, text[len(state.streamed) :])
            incomplete = response.finish_reason == "length"
            self._close_message(state, text, usage, incomplete=incomplete)
            if incomplete:
                e.finalize(self.run_id, "incomplete", incomplete_reason="max_completion_tokens")
            else:
                e.finalize(self.run_id, "completed")
            return False

        # Text that came before the tool calls is a reply of its own.
        if state.message is not None and not state.message_closed:
            self._close_message(state, state.streamed, usage_dict(0, 0))
        elif state.message is None and (response.text or state.late_text):
            self._open_message(state, run, private)
            text = response.text or state.late_text
            self._emit_text(state, text)
            self._close_message(state, text, usage_dict(0, 0))
        step = self._tool_step(state, run)
        calls = self._settle_calls(state, response.tool_calls)
        details = step["step_details"]
        details["tool_calls"] = [self._stored_call(run, c) for c in calls]
        e.update_private(
            self.run_id,
            lambda p: p["calls"].update({c.id: {"arguments": c.arguments} for c in calls}),
        )
        step = e.set_step(step["id"], None, step_details=details)
        for call in calls:
            if call.type == "code_interpreter":
                await self._run_code(step["id"], call)
            elif call.type == "file_search":
                await self._file_search(step["id"], call, run)
        functions = [c for c in calls if c.type == "function"]
        if functions:
            step = self.store.require("run_step", step["id"])
            function_calls = [
                run_tool_call(c)
                for c in step["step_details"]["tool_calls"]
                if c["type"] == "function"
            ]
            e.update_private(self.run_id, lambda p: p.update(pending_usage=usage))
            e.set_run(
                self.run_id,
                "thread.run.requires_action",
                status="requires_action",
                required_action={
                    "type": "submit_tool_outputs",
                    "submit_tool_outputs": {"tool_calls": function_calls},
                },
            )
            e.events.finish(self.run_id)
            return False
        e.set_step(
            step["id"],
            "thread.run.step.completed",
            status="completed",
            completed_at=now(),
            usage=usage,
        )
        return True

    async def _stream_model(
        self, request: ModelRequest, state: _Round, run: dict[str, Any], private: dict[str, Any]
    ) -> None:
        model = self.engine.model
        if model is None:
            raise ModelError("server_error", "No model provider is configured on this server.")
        async for item in model.stream(request):
            if isinstance(item, ModelResponse):
                state.response = item
            elif isinstance(item, TextDelta):
                if not item.text:
                    continue
                if state.tool_step is not None:
                    state.late_text += item.text
                    continue
                if state.message is None:
                    self._open_message(state, run, private)
                self._emit_text(state, item.text)
            elif isinstance(item, ToolCallDelta):
                if state.message is not None and not state.message_closed:
                    self._close_message(state, state.streamed, usage_dict(0, 0))
                self._tool_delta(state, run, item)
        if state.response is None:
            raise ModelError("server_error", "The model stream ended without a final response.")

    # -- messages -------------------------------------------------------------------

    def _open_message(self, state: _Round, run: dict[str, Any], private: dict[str, Any]) -> None:
        e = self.engine
        message = new_message(
            run["thread_id"],
            "assistant",
            [],
            assistant_id=run["assistant_id"],
            run_id=self.run_id,
            status="in_progress",
        )
        step = new_step(
            run,
            "message_creation",
            {"type": "message_creation", "message_creation": {"message_id": message["id"]}},
        )
        self.store.insert("run_step", step, parent=self.run_id)
        e.emit(self.run_id, "thread.run.step.created", step)
        e.emit(self.run_id, "thread.run.step.in_progress", step)
        self.store.insert("message", message, parent=run["thread_id"])
        e.emit(self.run_id, "thread.message.created", message)
        e.emit(self.run_id, "thread.message.in_progress", message)
        state.message, state.message_step = message, step
        # Images the code wrote in earlier rounds lead the reply, as in OpenAI's.
        images = list(private.get("images") or [])
        if images:
            e.update_private(self.run_id, lambda p: p.update(images=[]))
            for i, file_id in enumerate(images):
                self._message_delta(state, [{"index": i, **image_file_part(file_id)}])
                state.message["content"].append(image_file_part(file_id))
        state.text_index = len(images)
        private = self.engine.private(self.run_id)
        state.stream = CitationStream(dict(private["sources"]), dict(private.get("links") or {}))

    def _emit_text(self, state: _Round, text: str) -> None:
        state.streamed += text
        assert state.stream is not None
        for chunk, marks in state.stream.feed(text):
            self._text_delta(state, chunk, marks)

    def _text_delta(self, state: _Round, chunk: str, annotations: list[dict[str, Any]]) -> None:
        part = {
            "index": state.text_index,
            "type": "text",
            "text": {"value": chunk, "annotations": annotations},
        }
        self._message_delta(state, [part])

    def _message_delta(self, state: _Round, content: list[dict[str, Any]]) -> None:
        assert state.message is not None
        self.engine.emit(
            self.run_id,
            "thread.message.delta",
            {
                "id": state.message["id"],
                "object": "thread.message.delta",
                "delta": {"content": content},
            },
        )

    def _close_message(
        self, state: _Round, text: str, usage: dict[str, int], *, incomplete: bool = False
    ) -> None:
        e = self.engine
        assert state.message is not None and state.message_step is not None and state.stream
        for chunk, marks in state.stream.flush():
            self._text_delta(state, chunk, marks)
        content = [*state.message["content"], text_part(text, state.stream.annotate_all(text))]
        # The files the reply links are its attachments, as on OpenAI's.
        attachments = [
            {"file_id": file_id, "tools": [{"type": "code_interpreter"}]}
            for file_id in state.stream.linked_files(text)
        ]
        ts = now()
        if incomplete:
            e.set_message(
                state.message["id"],
                "thread.message.incomplete",
                content=content,
                attachments=attachments,
                status="incomplete",
                incomplete_at=ts,
                incomplete_details={"reason": "max_tokens"},
            )
        else:
            e.set_message(
                state.message["id"],
                "thread.message.completed",
                content=content,
                attachments=attachments,
                status="completed",
                completed_at=ts,
            )
        e.set_step(
            state.message_step["id"],
            "thread.run.step.completed",
            status="completed",
            completed_at=ts,
            usage=usage,
        )
        state.message_closed = True

    # -- tool calls -----------------------------------------------------------------

    def _tool_step(self, state: _Round, run: dict[str, Any]) -> dict[str, Any]:
        if state.tool_step is None:
            step = new_step(run, "tool_calls", {"type": "tool_calls", "tool_calls": []})
            self.store.insert("run_step", step, parent=self.run_id)
            self.engine.emit(self.run_id, "thread.run.step.created", step)
            self.engine.emit(self.run_id, "thread.run.step.in_progress", step)
            state.tool_step = step
        return state.tool_step

    def _tool_delta(self, state: _Round, run: dict[str, Any], delta: ToolCallDelta) -> None:
        self._tool_step(state, run)
        call = state.calls.get(delta.index)
        if call is None:
            call = _OpenCall(
                position=len(state.calls),
                id=self._unique_id(delta.id),
                type=delta.type or "function",
                name=delta.name or delta.type or "",
            )
            state.calls[delta.index] = call
            self._announce(state, call)
        if delta.arguments:
            call.arguments += delta.arguments
            if call.type == "function":
                self._step_delta(
                    state,
                    {
                        "index": call.position,
                        "type": "function",
                        "function": {"arguments": delta.arguments},
                    },
                )

    def _unique_id(self, model_id: str | None) -> str:
        # Some upstreams number their calls per reply ("call_0"...): a repeat gets a new id.
        call_id = _call_id(model_id)
        if call_id in self._used_ids:
            call_id = new_id("tool_call")
        self._used_ids.add(call_id)
        return call_id

    def _announce(self, state: _Round, call: _OpenCall) -> None:
        entry: dict[str, Any] = {"index": call.position, "id": call.id, "type": call.type}
        if call.type == "function":
            entry["function"] = {"name": call.name, "arguments": "", "output": None}
        elif call.type == "code_interpreter":
            entry["code_interpreter"] = {"input": "", "outputs": []}
        else:
            entry["file_search"] = {}
        self._step_delta(state, entry)

    def _step_delta(self, state: _Round, call_delta: dict[str, Any]) -> None:
        assert state.tool_step is not None
        self._emit_call_delta(state.tool_step["id"], call_delta)

    def _emit_call_delta(self, step_id: str, call_delta: dict[str, Any]) -> None:
        """A ``thread.run.step.delta`` carrying one tool call's change."""
        self.engine.emit(
            self.run_id,
            "thread.run.step.delta",
            {
                "id": step_id,
                "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call_delta]}},
            },
        )

    def _settle_calls(self, state: _Round, final: list[ToolCall]) -> list[_OpenCall]:
        """The round's tool calls as the final response has them (deltas announced them
        in the same order; anything not streamed is announced now)."""
        streamed = sorted(state.calls.values(), key=lambda c: c.position)
        out = []
        for i, tc in enumerate(final):
            call = streamed[i] if i < len(streamed) else None
            if call is None:
                call = _OpenCall(position=i, id=self._unique_id(tc.id), type=tc.type, name=tc.name)
                self._announce(state, call)
            call.type, call.name = tc.type, tc.name
            if call.type == "function" and tc.arguments != call.arguments:
                rest = (
                    tc.arguments[len(call.arguments) :]
                    if tc.arguments.startswith(call.arguments)
                    else ""
                )
                if rest:
                    self._step_delta(
                        state,
                        {
                            "index": call.position,
                            "type": "function",
                            "function": {"arguments": rest},
                        },
                    )
            call.arguments = tc.arguments
            if call.type == "code_interpreter":
                self._step_delta(
                    state,
                    {
                        "index": call.position,
                        "type": "code_interpreter",
                        "code_interpreter": {"input": _argument(tc.arguments, "code")},
                    },
                )
            out.append(call)
        return out

    def _stored_call(self, run: dict[str, Any], call: _OpenCall) -> dict[str, Any]:
        if call.type == "function":
            return {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments, "output": None},
            }
        if call.type == "code_interpreter":
            return {
                "id": call.id,
                "type": "code_interpreter",
                "code_interpreter": {"input": _argument(call.arguments, "code"), "outputs": []},
            }
        return {
            "id": call.id,
            "type": "file_search",
            "file_search": {
                "ranking_options": ranking(_file_search_options(run).get("ranking_options")),
                "results": [],
            },
        }

    def _update_call(self, step_id: str, call_id: str, change: Any) -> dict[str, Any]:
        def apply(step: dict[str, Any]) -> None:
            for call in step["step_details"]["tool_calls"]:
                if call["id"] == call_id:
                    change(call)

        return self.store.mutate("run_step", step_id, apply)

    # -- built-in tools -------------------------------------------------------------

    async def _run_code(self, step_id: str, call: _OpenCall) -> None:
        e = self.engine
        run = self.store.require("run", self.run_id)
        outcome = await run_code_call(
            self.store,
            _argument(call.arguments, "code"),
            workdir=e.sandbox_dir(run["thread_id"]),
            inputs=self._inputs(),
            limits=e.config.sandbox,
        )
        outputs: list[dict[str, Any]] = []
        if outcome.logs:
            outputs.append({"type": "logs", "logs": outcome.logs})
        images = [w.file["id"] for w in outcome.written if w.is_image]
        outputs += [{"type": "image", "image": {"file_id": file_id}} for file_id in images]

        def change(c: dict[str, Any]) -> None:
            c["code_interpreter"]["outputs"] = outputs

        self._update_call(step_id, call.id, change)
        model_output = outcome.model_output
        links = {w.path: w.file["id"] for w in outcome.written}
        e.update_private(
            self.run_id,
            lambda p: (
                p["calls"].setdefault(call.id, {}).update(output=model_output),
                p["images"].extend(images),
                p.setdefault("links", {}).update(links),
            ),
        )
        if outputs:
            step = self.store.require("run_step", step_id)
            self._emit_call_delta(
                step_id,
                {
                    "index": _position(step, call.id),
                    "type": "code_interpreter",
                    "code_interpreter": {
                        "outputs": [{"index": i, **o} for i, o in enumerate(outputs)]
                    },
                },
            )

    async def _file_search(self, step_id: str, call: _OpenCall, run: dict[str, Any]) -> None:
        e = self.engine
        options = _file_search_options(run)
        ranked = ranking(options.get("ranking_options"))
        outcome = await run_file_search(
            self.store,
            self.resources.vector_store_ids,
            _argument(call.arguments, "query"),
            call_index=e.private(self.run_id)["file_search_calls"],
            max_num_results=options.get("max_num_results"),
            score_threshold=ranked["score_threshold"],
        )
        results = [
            {
                "file_id": h.file_id,
                "file_name": h.filename,
                "score": max(0.0, min(1.0, float(h.score))),
                "content": [{"type": "text", "text": h.text}],
            }
            for h in outcome.hits
        ]

        def change(c: dict[str, Any]) -> None:
            c["file_search"] = {"ranking_options": ranked, "results": results}

        step = self._update_call(step_id, call.id, change)

        def remember(p: dict[str, Any]) -> None:
            p["calls"].setdefault(call.id, {}).update(output=outcome.output)
            p["sources"].update(outcome.sources)
            p["file_search_calls"] += 1

        e.update_private(self.run_id, remember)
        self._emit_call_delta(
            step_id,
            # No "id": a call's id is in its first delta only (SDKs concatenate strings).
            {
                "index": _position(step, call.id),
                "type": "file_search",
                "file_search": {"ranking_options": ranked, "results": results},
            },
        )

    def _inputs(self) -> list[CodeFile]:
        """The files the code can read: the assistant's, the thread's and attachments'."""
        if self._code_inputs is None:
            ids = list(self.resources.code_file_ids)
            for message in self._messages:
                if message.role == "assistant":
                    # Its attachments are files the code wrote: they are in the thread's
                    # working directory already, maybe changed since; a copy would undo that.
                    continue
                for att in message.attachments:
                    tools = att.get("tools", [])
                    for_code = any(t.get("type") == "code_interpreter" for t in tools)
                    if for_code and att["file_id"] not in ids:
                        ids.append(att["file_id"])
            self._code_inputs = code_inputs(self.store, ids)
        return self._code_inputs

    def _attachment_names(self) -> dict[str, str]:
        names = {}
        for message in self._messages:
            for att in message.attachments:
                obj = get_file(self.store, att["file_id"])
                if obj is not None:
                    names[att["file_id"]] = obj["filename"]
        return names


def _max_rounds(config: Any) -> int:
    # The chat provider's upstream has its own cap (UpstreamConfig.max_tool_rounds):
    # every round of a real model costs time and tokens.
    if config.model_provider == "chat" and config.upstream is not None:
        return config.upstream.max_tool_rounds
    return MAX_TOOL_ROUNDS


def _call_id(model_id: str | None) -> str:
    # Keep the model's own id whatever its style (OpenAI "call_...", vLLM
    # "chatcmpl-tool-...", Mistral's 9 alphanumerics): the chat provider sends it back
    # with the output and some upstreams check it; the local model's are deterministic,
    # which cassettes rely on. Make one only when there is none or it is unusable.
    if model_id and len(model_id) <= 128 and model_id.isprintable() and " " not in model_id:
        return model_id
    return new_id("tool_call")


def _argument(arguments: str, key: str) -> str:
    try:
        value = json.loads(arguments or "{}").get(key, "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _position(step: dict[str, Any], call_id: str) -> int:
    for i, call in enumerate(step["step_details"]["tool_calls"]):
        if call["id"] == call_id:
            return i
    return 0


def _file_search_options(run: dict[str, Any]) -> dict[str, Any]:
    for tool in run.get("tools") or []:
        if tool["type"] == "file_search":
            return tool.get("file_search") or {}
    return {}
