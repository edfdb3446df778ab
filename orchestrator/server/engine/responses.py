"""Executing one response: ask the model, stream its reply or tool calls, run the tools.

The Responses twin of :mod:`.executor`, on the same parts: the model providers
(:class:`providers.base.Model`), :mod:`.file_search_call`, :mod:`.code_call`
(the sandbox) and :mod:`.citations`. Only the wire differs: output items and
``response.*`` events, each with its ``sequence_number``.

A round asks the model once. Text becomes a ``message`` item; built-in tool calls
become ``file_search_call`` / ``code_interpreter_call`` items, run here, and the model is
asked again; ``function`` calls end the response (``completed``, the calls in its output)
for the client to answer in its next request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from orchestrator.server.config import ServerConfig
from orchestrator.server.engine.citations import CitationStream
from orchestrator.server.engine.code_call import run_code_call
from orchestrator.server.engine.executor import _argument
from orchestrator.server.engine.file_search_call import run_file_search
from orchestrator.server.engine.response_prompt import build_request, remember_call
from orchestrator.server.errors import APIError
from orchestrator.server.ids import new_id
from orchestrator.server.providers.base import (
    ChatMessage,
    Model,
    ModelError,
    ModelResponse,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDef,
)
from orchestrator.server.services import containers
from orchestrator.server.services.files import delete_file, read_file_bytes
from orchestrator.server.store import Store
from orchestrator.server.tools.file_links import format_written

log = logging.getLogger("orchestrator.server.responses")

MAX_TOOL_ROUNDS = 10
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Host(Protocol):
    """What the executor needs from the server (``services.responses.ResponseRunner``)."""

    store: Store
    config: ServerConfig

    def model(self) -> Model: ...
    def emit(self, response_id: str, event: str, payload: dict[str, Any]) -> None: ...
    def set_status(self, response_id: str, status: str) -> dict[str, Any]: ...
    def finish(
        self,
        response_id: str,
        status: str,
        usage: list[int],
        *,
        error: dict[str, str] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]: ...
    def script_key(self, response: dict[str, Any]) -> str: ...
    def tool(self, response: dict[str, Any], kind: str) -> dict[str, Any]: ...
    def tool_defs(self, response: dict[str, Any]) -> list[ToolDef]: ...
    def container_for(self, response: dict[str, Any]) -> str: ...
    def sandbox_dir(self, container_id: str) -> Path: ...
    def file_url(self, obj: dict[str, Any]) -> str: ...


@dataclass
class _OpenText:
    item: dict[str, Any]
    index: int  # output index
    stream: CitationStream
    text: str = ""
    annotations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _OpenCall:
    item: dict[str, Any] | None  # the function_call item (built-ins get theirs when run)
    index: int
    id: str
    type: str
    name: str
    arguments: str = ""


def file_citation(ann: dict[str, Any]) -> dict[str, Any]:
    """A marker's annotation as the Responses API has it: the file, and where in the text."""
    marker = ann["text"]
    filename = marker[marker.find("†") + 1 : -1] if "†" in marker else ""
    return {
        "type": "file_citation",
        "file_id": ann["file_citation"]["file_id"],
        "filename": filename,
        "index": ann["end_index"],
    }


class ResponseExecutor:
    def __init__(
        self,
        runner: Host,
        response_id: str,
        history: list[ChatMessage],
        sources: dict[str, str],
        search_calls: int,
    ) -> None:
        self.runner = runner
        self.store = runner.store
        self.id = response_id
        self.history = history
        # Citation markers known so far (this chain's earlier searches and this one's).
        self.sources = dict(sources)
        self.search_calls = search_calls
        self.own: list[ChatMessage] = []
        self.usage = [0, 0]
        self.open_text: _OpenText | None = None
        self.calls: dict[int, _OpenCall] = {}
        self.tool_calls_made = 0
        # Files the code wrote during this response, for container_file_citation.
        self.written: list[dict[str, Any]] = []

    # -- state ----------------------------------------------------------------------

    @property
    def response(self) -> dict[str, Any]:
        return self.store.require("response", self.id)

    def _output(self) -> list[dict[str, Any]]:
        return self.response["output"]

    def _set_item(self, index: int, item: dict[str, Any]) -> None:
        def change(r: dict[str, Any]) -> None:
            if index < len(r["output"]):
                r["output"][index] = item
            else:
                r["output"].append(item)

        self.store.mutate("response", self.id, change)

    def emit(self, event: str, **payload: Any) -> None:
        self.runner.emit(self.id, event, payload)

    # -- the loop -------------------------------------------------------------------

    async def execute(self) -> None:
        response = self.runner.set_status(self.id, "in_progress")
        self.emit("response.in_progress", response=response)
        tools = self.runner.tool_defs(response)
        try:
            for _ in range(MAX_TOOL_ROUNDS):
                if not await self._round(tools):
                    return
            self.runner.finish(
                self.id,
                "failed",
                self.usage,
                error={
                    "code": "server_error",
                    "message": f"The response made {MAX_TOOL_ROUNDS} rounds of tool calls "
                    "without a final reply and was stopped.",
                },
            )
        except ModelError as exc:
            self._close_open()
            code = "rate_limit_exceeded" if exc.code == "rate_limit_exceeded" else "server_error"
            if exc.code == "invalid_prompt":
                code = "invalid_prompt"
            self.runner.finish(
                self.id, "failed", self.usage, error={"code": code, "message": exc.message}
            )

    async def _round(self, tools: list[ToolDef]) -> bool:
        response = self.response
        budget = None
        if response.get("max_output_tokens") is not None:
            budget = response["max_output_tokens"] - self.usage[1]
            if budget <= 0:
                self.runner.finish(self.id, "incomplete", self.usage, reason="max_output_tokens")
                return False
        offered = tools
        limit = response.get("max_tool_calls")
        if limit is not None and self.tool_calls_made >= limit:
            offered = [t for t in tools if t.type == "function"]
        try:
            request = build_request(
                response,
                self.history,
                self.own,
                offered,
                completion_budget=budget,
                script_key=self.runner.script_key(response),
                window=self.runner.config.context_window_tokens,
            )
        except APIError as exc:
            # Truncation disabled and this response's own tool outputs grew past the
            # window (its input fitted when it was created): the response fails.
            raise ModelError("invalid_prompt", exc.message) from exc
        self.calls = {}
        final = await self._stream(request)
        self.usage[0] += final.usage.prompt_tokens
        self.usage[1] += final.usage.completion_tokens

        if not final.tool_calls:
            text = final.text
            if self.open_text is None and text:
                self._open_message()
            if self.open_text is not None:
                if text and text.startswith(self.open_text.text):
                    self._text(text[len(self.open_text.text) :])
                incomplete = final.finish_reason == "length"
                self._close_text("incomplete" if incomplete else "completed")
                if incomplete:
                    self.runner.finish(
                        self.id, "incomplete", self.usage, reason="max_output_tokens"
                    )
                    return False
            self.runner.finish(self.id, "completed", self.usage)
            return False

        if self.open_text is not None:
            self._close_text("completed")
        elif final.text:
            self._open_message()
            self._text(final.text)
            self._close_text("completed")
        calls = self._settle(final.tool_calls)
        turn = ChatMessage(role="assistant", tool_calls=[])
        self.own.append(turn)
        functions = False
        for call in calls:
            turn.tool_calls.append(
                ToolCall(id=call.id, type=call.type, name=call.name, arguments=call.arguments)  # type: ignore[arg-type]
            )
            if call.type == "function":
                functions = True
                continue
            self.tool_calls_made += 1
            if call.type == "file_search":
                output = await self._file_search(call)
            else:
                output = await self._run_code(call)
            self.own.append(ChatMessage(role="tool", content=output, tool_call_id=call.id))
        if functions:
            self.runner.finish(self.id, "completed", self.usage)
            return False
        return True

    async def _stream(self, request: Any) -> ModelResponse:
        model = self.runner.model()
        final: ModelResponse | None = None
        async for piece in model.stream(request):
            if isinstance(piece, ModelResponse):
                final = piece
            elif isinstance(piece, TextDelta):
                if not piece.text or self.calls:
                    continue
                if self.open_text is None:
                    self._open_message()
                self._text(piece.text)
            elif isinstance(piece, ToolCallDelta):
                if self.open_text is not None:
                    self._close_text("completed")
                self._call_delta(piece)
        if final is None:
            raise ModelError("server_error", "The model stream ended without a final response.")
        return final

    # -- message items ----------------------------------------------------------------

    def _open_message(self) -> None:
        index = len(self._output())
        item = {
            "id": new_id("message"),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self._set_item(index, item)
        self.emit("response.output_item.added", output_index=index, item=item)
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        self.emit(
            "response.content_part.added",
            item_id=item["id"],
            output_index=index,
            content_index=0,
            part=part,
        )
        links = {obj["path"]: obj["id"] for obj in self.written}
        stream = CitationStream(self.sources, links)
        self.open_text = _OpenText(item=item, index=index, stream=stream)

    def _text(self, text: str) -> None:
        assert self.open_text is not None
        self.open_text.text += text
        for chunk, marks in self.open_text.stream.feed(text):
            self._delta(chunk, marks)

    def _delta(self, chunk: str, marks: list[dict[str, Any]]) -> None:
        t = self.open_text
        assert t is not None
        self.emit(
            "response.output_text.delta",
            item_id=t.item["id"],
            output_index=t.index,
            content_index=0,
            delta=chunk,
            logprobs=[],
        )
        for mark in marks:
            if mark["type"] == "file_path":
                annotation = self._container_citation(mark)
            else:
                annotation = file_citation(mark)
            self.emit(
                "response.output_text.annotation.added",
                item_id=t.item["id"],
                output_index=t.index,
                content_index=0,
                annotation_index=len(t.annotations),
                annotation=annotation,
            )
            t.annotations.append(annotation)

    def _close_text(self, status: str) -> None:
        t = self.open_text
        assert t is not None
        for chunk, marks in t.stream.flush():
            self._delta(chunk, marks)
        part = {"type": "output_text", "text": t.text, "annotations": t.annotations, "logprobs": []}
        self.emit(
            "response.output_text.done",
            item_id=t.item["id"],
            output_index=t.index,
            content_index=0,
            text=t.text,
            logprobs=[],
        )
        self.emit(
            "response.content_part.done",
            item_id=t.item["id"],
            output_index=t.index,
            content_index=0,
            part=part,
        )
        item = {**t.item, "status": status, "content": [part]}
        self._set_item(t.index, item)
        self.emit("response.output_item.done", output_index=t.index, item=item)
        self.own.append(ChatMessage(role="assistant", content=t.text))
        self.open_text = None

    def _container_citation(self, mark: dict[str, Any]) -> dict[str, Any]:
        """A link to a file the code wrote (``sandbox:/mnt/data/name`` or the bare path),
        as the Responses API annotates it."""
        [obj] = [o for o in self.written if o["id"] == mark["file_path"]["file_id"]]
        return {
            "type": "container_file_citation",
            "container_id": obj["container_id"],
            "file_id": obj["id"],
            "filename": PurePosixPath(obj["path"]).name,
            "start_index": mark["start_index"],
            "end_index": mark["end_index"],
        }

    def _close_open(self) -> None:
        """After a failure: the open message keeps what was produced, as incomplete."""
        if self.open_text is not None:
            self._close_text("incomplete")

    # -- tool calls -----------------------------------------------------------------

    def _call_delta(self, delta: ToolCallDelta) -> None:
        call = self.calls.get(delta.index)
        if call is None:
            call = self._new_call(delta.id, delta.type or "function", delta.name or "")
            self.calls[delta.index] = call
        if delta.arguments:
            call.arguments += delta.arguments
            if call.item is not None:
                self.emit(
                    "response.function_call_arguments.delta",
                    item_id=call.item["id"],
                    output_index=call.index,
                    delta=delta.arguments,
                )

    def _new_call(self, model_id: str | None, kind: str, name: str) -> _OpenCall:
        call_id = model_id or new_id("tool_call")
        if kind != "function":
            # Built-in calls become items when they run (with their own events).
            return _OpenCall(item=None, index=-1, id=new_id(f"{kind}_call"), type=kind, name=kind)
        index = len(self._output())
        item = {
            "id": new_id("function_call"),
            "type": "function_call",
            "status": "in_progress",
            "call_id": call_id,
            "name": name,
            "arguments": "",
        }
        self._set_item(index, item)
        self.emit("response.output_item.added", output_index=index, item=item)
        return _OpenCall(item=item, index=index, id=call_id, type="function", name=name)

    def _settle(self, final: list[ToolCall]) -> list[_OpenCall]:
        streamed = [self.calls[k] for k in sorted(self.calls)]
        out = []
        for i, tc in enumerate(final):
            call = streamed[i] if i < len(streamed) else None
            if call is None or call.type != tc.type:
                call = self._new_call(tc.id, tc.type, tc.name)
            if call.item is not None:
                rest = (
                    tc.arguments[len(call.arguments) :]
                    if tc.arguments.startswith(call.arguments)
                    else ""
                )
                if rest:
                    self.emit(
                        "response.function_call_arguments.delta",
                        item_id=call.item["id"],
                        output_index=call.index,
                        delta=rest,
                    )
                call.arguments = tc.arguments
                self.emit(
                    "response.function_call_arguments.done",
                    item_id=call.item["id"],
                    output_index=call.index,
                    name=call.name,
                    arguments=call.arguments,
                )
                item = {**call.item, "status": "completed", "arguments": call.arguments}
                self._set_item(call.index, item)
                self.emit("response.output_item.done", output_index=call.index, item=item)
            else:
                call.arguments = tc.arguments
            out.append(call)
        return out

    # -- built-in tools -------------------------------------------------------------

    async def _file_search(self, call: _OpenCall) -> str:
        tool = self.runner.tool(self.response, "file_search")
        query = _argument(call.arguments, "query")
        index = len(self._output())
        item: dict[str, Any] = {
            "id": call.id,
            "type": "file_search_call",
            "status": "in_progress",
            "queries": [query] if query else [],
            "results": None,
        }
        self._set_item(index, item)
        self.emit("response.output_item.added", output_index=index, item=item)
        self.emit("response.file_search_call.in_progress", output_index=index, item_id=call.id)
        self.emit("response.file_search_call.searching", output_index=index, item_id=call.id)
        ranking = tool.get("ranking_options") or {}
        found = await run_file_search(
            self.store,
            list(tool.get("vector_store_ids") or []),
            query,
            call_index=self.search_calls,
            max_num_results=tool.get("max_num_results"),
            score_threshold=float(ranking.get("score_threshold") or 0.0),
            filters=tool.get("filters"),
        )
        self.search_calls += 1
        self.sources.update(found.sources)
        output = found.output
        results = [
            {
                "file_id": h.file_id,
                "filename": h.filename,
                "score": max(0.0, min(1.0, float(h.score))),
                "text": h.text,
                "attributes": h.attributes or {},
            }
            for h in found.hits
        ]
        remember_call(self.store, call.id, call.arguments, output, sources=found.sources)
        item = {**item, "status": "completed", "results": results}
        self._set_item(index, item)
        self.emit("response.file_search_call.completed", output_index=index, item_id=call.id)
        self.emit("response.output_item.done", output_index=index, item=item)
        return output

    async def _run_code(self, call: _OpenCall) -> str:

        code = _argument(call.arguments, "code")
        container_id = self.runner.container_for(self.response)
        index = len(self._output())
        item: dict[str, Any] = {
            "id": call.id,
            "type": "code_interpreter_call",
            "status": "in_progress",
            "container_id": container_id,
            "code": "",
            "outputs": None,
        }
        self._set_item(index, item)
        self.emit("response.output_item.added", output_index=index, item=item)
        self.emit("response.code_interpreter_call.in_progress", output_index=index, item_id=call.id)
        self.emit(
            "response.code_interpreter_call_code.delta",
            output_index=index,
            item_id=call.id,
            delta=code,
        )
        self.emit(
            "response.code_interpreter_call_code.done",
            output_index=index,
            item_id=call.id,
            code=code,
        )
        self.emit(
            "response.code_interpreter_call.interpreting", output_index=index, item_id=call.id
        )
        minute = self.runner.config.container_minute_seconds
        containers.require_running(self.store, container_id, minute=minute)
        inputs = containers.code_inputs(self.store, container_id)
        outcome = await run_code_call(
            self.store,
            code,
            workdir=self.runner.sandbox_dir(container_id),
            inputs=inputs,
            limits=self.runner.config.sandbox,
        )
        outputs: list[dict[str, Any]] = []
        if outcome.logs:
            outputs.append({"type": "logs", "logs": outcome.logs})
        # The code's files belong to the container (not the Files API): move them there.
        written = []
        for w in outcome.written:
            data = read_file_bytes(self.store, w.file["id"])
            delete_file(self.store, w.file["id"])
            obj = containers.add_file(
                self.store, container_id, w.path, data, source="assistant", minute=minute
            )
            if w.is_image:
                outputs.append({"type": "image", "url": self.runner.file_url(obj)})
            written.append(obj["path"])
            self.written.append(obj)
        model_output = outcome.logs or ("(no output)" if outcome.ok else "(failed with no output)")
        if written:
            model_output += "\n" + format_written(written)
        remember_call(self.store, call.id, call.arguments, model_output)
        item = {
            **item,
            "status": "completed" if outcome.ok else "failed",
            "code": code,
            "outputs": outputs,
        }
        self._set_item(index, item)
        self.emit("response.code_interpreter_call.completed", output_index=index, item_id=call.id)
        self.emit("response.output_item.done", output_index=index, item=item)
        return model_output
