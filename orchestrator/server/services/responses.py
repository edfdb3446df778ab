"""The Responses API: create (plain, streamed, background), retrieve, cancel, delete,
input items and input token counts; the runner that executes responses.

A response's context is its chain: the items of every earlier response named by
``previous_response_id`` (their input items, then their output), or the items of its
``conversation``; then its own input items (stored with :mod:`~orchestrator.server.engine.item_log`, owner = the
response id). Events go to the engine's event log (keyed by the response id), so a
stream and a later ``GET ?stream=true&starting_after=N`` read the same sequence.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.server.config import ServerConfig
from orchestrator.server.engine import item_log
from orchestrator.server.engine.items import check_include, present, to_items
from orchestrator.server.engine.response_prompt import (
    build_request,
    chat_messages,
    fitted,
    known_sources,
    system_messages,
    tool_defs,
)
from orchestrator.server.engine.responses import ResponseExecutor
from orchestrator.server.errors import APIError, invalid
from orchestrator.server.ids import new_id, now
from orchestrator.server.prompt import estimate_tokens
from orchestrator.server.providers.base import ChatMessage, Model, ModelError, ToolDef
from orchestrator.server.services import containers, conversations
from orchestrator.server.services.files import get_file
from orchestrator.server.services.metadata import check_metadata
from orchestrator.server.services.resources import DEFAULT_RANKING
from orchestrator.server.sse import frame
from orchestrator.server.store import Order, Page, Store
from orchestrator.server.tools.attribute_filters import check_filter

if TYPE_CHECKING:
    from orchestrator.server.engine import Engine

log = logging.getLogger("orchestrator.server.responses")

PRIVATE = "response_private"
TERMINAL = ("completed", "failed", "incomplete", "cancelled")
STOP_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete", "error"})
SUPPORTED_TOOLS = ("function", "file_search", "code_interpreter")
# Endpoints of the spec this server does not implement: a named 501, listed in the README.
NOT_IMPLEMENTED = ("POST /v1/responses/compact",)


def not_implemented(endpoint: str) -> APIError:
    return APIError(
        501,
        f"{endpoint} is not implemented by this server (assistant-orchestrator's embedded "
        "server); see its README for the endpoints it serves.",
        code="not_implemented",
    )


def _not_found(response_id: str) -> APIError:
    return APIError(404, f"Response with id '{response_id}' not found.")


class ResponseRunner:
    """Runs responses on the engine's model and event log; one per server."""

    def __init__(self, config: ServerConfig, store: Store, engine: Engine) -> None:
        self.config = config
        self.store = store
        self.engine = engine
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Responses nobody can stream (neither stream nor background): no event log.
        self._quiet: set[str] = set()
        self._final: dict[str, dict[str, Any]] = {}

    # -- what the executor uses -----------------------------------------------------

    def model(self) -> Model:
        if self.engine.model is None:
            raise ModelError("server_error", "No model provider is configured on this server.")
        return self.engine.model

    def mute(self, response_id: str) -> None:
        """No events for this response: nobody can stream it (OpenAI resumes streams of
        background responses only)."""
        self._quiet.add(response_id)

    def emit(self, response_id: str, event: str, payload: dict[str, Any]) -> None:
        if response_id in self._quiet:
            return
        # sequence_number counts from 0; the log's seq from 1.
        seq = self.engine.events.last_seq(response_id)
        data = {"type": event, "sequence_number": seq, **payload}
        self.engine.events.append(response_id, event, data)

    def set_status(self, response_id: str, status: str) -> dict[str, Any]:
        return self.store.mutate("response", response_id, lambda r: r.update(status=status))

    def private(self, response_id: str) -> dict[str, Any]:
        return self.store.get(PRIVATE, f"{response_id}~engine") or {}

    def script_key(self, response: dict[str, Any]) -> str:
        """Where a scripted model finds this response's script: its conversation, or the
        first response of its chain."""
        return self.private(response["id"]).get("chain") or response["id"]

    def tool(self, response: dict[str, Any], kind: str) -> dict[str, Any]:
        return next((t for t in response["tools"] if t["type"] == kind), {})

    def tool_defs(self, response: dict[str, Any]) -> list[ToolDef]:
        return tool_defs(response["tools"])

    def sandbox_dir(self, container_id: str) -> Path:
        return self.engine.sandbox_dir(container_id)

    def file_url(self, obj: dict[str, Any]) -> str:
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return (
            f"http://{host}:{self.config.port}/v1/containers/{obj['container_id']}/files/"
            f"{obj['id']}/content"
        )

    def container_for(self, response: dict[str, Any]) -> str:
        """The code interpreter's container: the one named, or the chain's auto container
        (created on first use, reused while it runs)."""
        spec = self.tool(response, "code_interpreter").get("container")
        if isinstance(spec, str):
            return spec
        spec = spec or {"type": "auto"}
        key = f"{self.script_key(response)}~container"
        minute = self.config.container_minute_seconds
        known = self.store.get(PRIVATE, key)
        if known is not None:
            current = self.store.get("container", known["container_id"])
            if (
                current is not None
                and containers.require(self.store, current["id"], minute=minute)["status"]
                == "running"
            ):
                for file_id in spec.get("file_ids") or []:
                    containers.add_stored_file(self.store, current["id"], file_id, minute=minute)
                return current["id"]
            self.store.delete(PRIVATE, key)
        created = containers.create(
            self.store,
            {"file_ids": spec.get("file_ids") or []},
            name=f"auto-{self.script_key(response)}",
        )
        self.store.insert(PRIVATE, {"id": key, "container_id": created["id"]})
        return created["id"]

    def finish(
        self,
        response_id: str,
        status: str,
        usage: list[int],
        *,
        error: dict[str, str] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        ts = now()
        if error:
            error = {**error, "message": self.engine.redact(error["message"])}

        def change(r: dict[str, Any]) -> None:
            r["status"] = status
            r["usage"] = usage_body(usage[0], usage[1])
            r["completed_at"] = ts if status == "completed" else None
            r["error"] = error
            r["incomplete_details"] = {"reason": reason} if reason else None
            for item in r["output"]:
                if item.get("status") == "in_progress":
                    item["status"] = "incomplete"

        response = self.store.mutate("response", response_id, change)
        if status in ("completed", "incomplete"):
            conversation = response.get("conversation")
            if conversation:
                items = item_log.all_items(self.store, response_id) + response["output"]
                item_log.append(self.store, conversation["id"], [copy.deepcopy(i) for i in items])
        shown = self.shown(response)
        self._final[response_id] = shown
        self.emit(response_id, f"response.{status}", {"response": shown})
        # Background streams resume from any sequence number (starting_after), also
        # after a restart; no other response's stream can be read again.
        self.engine.events.finish(response_id, keep_deltas=bool(response.get("background")))
        return response

    def shown(self, response: dict[str, Any]) -> dict[str, Any]:
        """The response as reads return it (bulky output fields per its ``include``)."""
        include = self.private(response["id"]).get("include") or []
        return {**response, "output": [present(i, include) for i in response["output"]]}

    # -- running --------------------------------------------------------------------

    async def respond(
        self, response_id: str, history: list[ChatMessage], items: list[dict]
    ) -> dict[str, Any]:
        """Run a response in the request (neither streamed nor background): no events are
        logged (see :meth:`mute`), and the finished response is returned (also when
        ``store`` is false)."""
        try:
            await self.run(response_id, history, items)
        finally:
            self._quiet.discard(response_id)
        return self._final.pop(response_id)

    async def run(self, response_id: str, history: list[ChatMessage], items: list[dict]) -> None:
        sources, searches = known_sources(self.store, items)
        executor = ResponseExecutor(self, response_id, history, sources, searches)
        try:
            await executor.execute()
        except asyncio.CancelledError:
            executor._close_open()
            self.finish(response_id, "cancelled", executor.usage)
            raise
        except Exception:  # a bug: the response fails, the server stays up
            log.exception("response %s failed", response_id)
            self.finish(
                response_id,
                "failed",
                executor.usage,
                error={
                    "code": "server_error",
                    "message": "The server had an error while processing this response.",
                },
            )
        finally:
            self._drop_unstored(response_id)
            if response_id not in self._quiet:
                self._final.pop(response_id, None)

    def launch(self, response_id: str, history: list[ChatMessage], items: list[dict]) -> None:
        task = asyncio.create_task(self.run(response_id, history, items))
        self._tasks[response_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(response_id, None))

    def _drop_unstored(self, response_id: str) -> None:
        response = self.store.get("response", response_id)
        if response is not None and response.get("store") is False:
            # store: false — nothing is kept once the response is delivered; the event
            # log stays a short while in memory for a stream still reading it.
            self.store.delete("response", response_id)
            self.store.delete(PRIVATE, f"{response_id}~engine")
            item_log.delete_owner(self.store, response_id)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def recover(self) -> None:
        """A response in flight when the previous process died is failed."""
        for response in self.store.all("response", where={"status": ("queued", "in_progress")}):
            self.finish(
                response["id"],
                "failed",
                _usage_list(response),
                error={
                    "code": "server_error",
                    "message": "The server restarted while this response was in progress. "
                    "Create a new response to continue.",
                },
            )

    def cancel(self, response_id: str) -> dict[str, Any]:
        response = require(self.store, response_id)
        if not response.get("background"):
            raise invalid("Cannot cancel a synchronous response.")
        if response["status"] in ("queued", "in_progress"):
            task = self._tasks.get(response_id)
            if task is not None:
                task.cancel()
            else:
                self.finish(response_id, "cancelled", _usage_list(response))
            return {**require(self.store, response_id), "status": "cancelled"}
        if response["status"] == "cancelled":
            return self.shown(response)
        raise invalid(f"Cannot cancel a response with status '{response['status']}'.")

    async def wait(self, response_id: str) -> None:
        task = self._tasks.get(response_id)
        if task is not None:
            # asyncio.wait: a task that ended cancelled is not an error of the caller's.
            await asyncio.wait({task})

    async def stream(self, response_id: str, after: int) -> AsyncIterator[bytes]:
        """SSE bytes of the response from sequence number ``after + 1`` until it ends."""
        async for ev in self.engine.events.follow(response_id, after + 1):
            yield frame(ev.event, ev.data)
            if ev.event in STOP_EVENTS or ev.event == "response.cancelled":
                break


def usage_body(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _usage_list(response: dict[str, Any]) -> list[int]:
    usage = response.get("usage") or {}
    return [usage.get("input_tokens", 0), usage.get("output_tokens", 0)]


def require(store: Store, response_id: str) -> dict[str, Any]:
    response = store.get("response", response_id)
    if response is None:
        raise _not_found(response_id)
    return response


# -- create ------------------------------------------------------------------------------


def _chain_items(store: Store, response_id: str) -> list[dict[str, Any]]:
    """The context items of a stored response's chain, oldest first (iteratively)."""
    chain = []
    current: str | None = response_id
    while current:
        response = store.get("response", current)
        if response is None:
            break
        chain.append(response)
        current = response.get("previous_response_id")
    items: list[dict[str, Any]] = []
    for response in reversed(chain):
        items += item_log.all_items(store, response["id"])
        items += response["output"]
    return items


def _check_tools(store: Store, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    names: set[str] = set()
    for i, raw in enumerate(tools):
        tool = copy.deepcopy(raw)
        kind = tool.get("type")
        where = f"tools[{i}]"
        if kind not in SUPPORTED_TOOLS:
            raise invalid(
                f"Tool type '{kind}' is not supported by this server; supported tool types "
                "are 'function', 'file_search' and 'code_interpreter'.",
                param=f"{where}.type",
            )
        if kind == "function":
            if tool["name"] in names:
                raise invalid(f"Duplicate function name '{tool['name']}' in tools.", param=where)
            names.add(tool["name"])
            tool.setdefault("parameters", {"type": "object", "properties": {}})
            tool.setdefault("description", None)
            if tool.get("strict") is None:
                tool["strict"] = True
        elif kind == "file_search":
            for n, vs_id in enumerate(tool.get("vector_store_ids") or []):
                if store.get("vector_store", vs_id) is None:
                    raise invalid(
                        f"Vector store with id '{vs_id}' not found.",
                        param=f"{where}.vector_store_ids[{n}]",
                    )
            if tool.get("filters") is not None:
                check_filter(tool["filters"], f"{where}.filters")
            ranking = tool.setdefault("ranking_options", {})
            ranking.setdefault("ranker", "auto")
            ranking.setdefault("score_threshold", DEFAULT_RANKING["score_threshold"])
        else:
            container = tool.get("container")
            if isinstance(container, str):
                if store.get("container", container) is None:
                    raise invalid(
                        f"Container with id '{container}' not found.", param=f"{where}.container"
                    )
            else:
                for n, file_id in enumerate((container or {}).get("file_ids") or []):
                    if get_file(store, file_id) is None:
                        raise invalid(
                            f"No file found with id '{file_id}'.",
                            param=f"{where}.container.file_ids[{n}]",
                        )
        out.append(tool)
    return out


def _check_outputs(history: list[dict[str, Any]], inputs: list[dict[str, Any]]) -> None:
    """Function call outputs answer calls that exist; calls left open are answered."""
    called = [i["call_id"] for i in history + inputs if i.get("type") == "function_call"]
    answered = {i["call_id"] for i in history + inputs if i.get("type") == "function_call_output"}
    for n, item in enumerate(inputs):
        if item.get("type") == "function_call_output" and item["call_id"] not in called:
            raise invalid(
                f"No tool call found for function call output with call_id {item['call_id']}.",
                param=f"input[{n}]",
            )
    for call_id in called:
        if call_id not in answered:
            raise invalid(f"No tool output found for function call {call_id}.", param="input")


def _conversation_id(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.get("id")


def context(store: Store, body: dict[str, Any]) -> tuple[list[dict], list[dict], str | None]:
    """(history items, this request's input items, conversation id) for a request body."""
    previous = body.get("previous_response_id")
    conversation_id = _conversation_id(body.get("conversation"))
    if previous and conversation_id:
        raise invalid(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            param="conversation",
        )
    history: list[dict[str, Any]] = []
    if previous:
        if store.get("response", previous) is None:
            raise invalid(
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
            )
        history = _chain_items(store, previous)
    elif conversation_id:
        conversations.require(store, conversation_id)
        history = item_log.all_items(store, conversation_id)
    raw = body.get("input")
    inputs = to_items(store, raw) if raw is not None else []
    return history, inputs, conversation_id


def create(runner: ResponseRunner, body: dict[str, Any]) -> tuple[dict[str, Any], list, list]:
    """Validate a create request and store the new response (not yet run)."""
    store = runner.store
    if not body.get("model"):
        raise invalid("Missing required parameter: 'model'.", param="model")
    if body.get("background") and body.get("store") is False:
        raise invalid("Background responses require store=true.", param="background")
    include = check_include(body.get("include"))
    history, inputs, conversation_id = context(store, body)
    if not inputs and not history:
        raise invalid("Missing required parameter: 'input'.", param="input")
    _check_outputs(history, inputs)
    tools = _check_tools(store, body.get("tools") or [])
    text = copy.deepcopy(body.get("text") or {})
    text.setdefault("format", {"type": "text"})
    response: dict[str, Any] = {
        "id": new_id("response"),
        "object": "response",
        "created_at": now(),
        "status": "queued" if body.get("background") else "in_progress",
        "background": bool(body.get("background")),
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "metadata": check_metadata(body.get("metadata")),
        "model": body["model"],
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "previous_response_id": body.get("previous_response_id"),
        "conversation": {"id": conversation_id} if conversation_id else None,
        "reasoning": _reasoning(body.get("reasoning")),
        "store": body.get("store", True) is not False,
        "temperature": body["temperature"] if body.get("temperature") is not None else 1.0,
        "text": text,
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": tools,
        "top_p": body["top_p"] if body.get("top_p") is not None else 1.0,
        "truncation": body.get("truncation") or "disabled",
        "user": body.get("user"),
        "safety_identifier": body.get("safety_identifier"),
        "prompt_cache_key": body.get("prompt_cache_key"),
    }
    for key in ("max_output_tokens", "max_tool_calls", "user", "safety_identifier"):
        if response[key] is None:
            del response[key]
    if response["prompt_cache_key"] is None:
        del response["prompt_cache_key"]
    filenames = _filenames(store, history + inputs)
    messages = chat_messages(store, history + inputs, filenames)
    # Refused before anything is stored: over the window with truncation disabled.
    fitted(
        messages,
        system_messages(response),
        tool_defs(tools),
        response["truncation"],
        runner.config.context_window_tokens,
    )
    previous = body.get("previous_response_id")
    chain = conversation_id or (runner.script_key({"id": previous}) if previous else None)
    store.insert("response", response)
    store.insert(
        PRIVATE,
        {"id": f"{response['id']}~engine", "chain": chain or response["id"], "include": include},
        parent=response["id"],
    )
    item_log.append(store, response["id"], inputs)
    if not (body.get("stream") or response["background"]):
        runner.mute(response["id"])
    runner.emit(response["id"], "response.created", {"response": response})
    if response["background"]:
        runner.emit(response["id"], "response.queued", {"response": response})
    return response, messages, history + inputs


def _reasoning(given: dict[str, Any] | None) -> dict[str, Any]:
    """``reasoning`` as the Response echoes it. Accepted for compatibility: the local
    model does not reason (no reasoning items, ``reasoning_tokens`` 0); a chat upstream
    is not sent it either (chat completions has no such field for every model)."""
    given = given or {}
    shown = {"effort": given.get("effort"), "summary": given.get("summary")}
    for key in ("generate_summary", "context", "mode"):
        if given.get(key) is not None:
            shown[key] = given[key]
    return shown


def _filenames(store: Store, items: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for item in items:
        for part in item.get("content") or [] if item.get("type") == "message" else []:
            if isinstance(part, dict) and part.get("type") == "input_file" and part.get("file_id"):
                obj = get_file(store, part["file_id"])
                if obj is not None:
                    out[part["file_id"]] = obj["filename"]
    return out


# -- reads -------------------------------------------------------------------------------


def delete(runner: ResponseRunner, response_id: str) -> dict[str, Any]:
    store = runner.store
    require(store, response_id)
    task = runner._tasks.get(response_id)
    if task is not None:
        task.cancel()
    store.delete("response", response_id)
    store.delete(PRIVATE, f"{response_id}~engine")
    item_log.delete_owner(store, response_id)
    runner.engine.events.delete_runs([response_id])
    return {"id": response_id, "object": "response.deleted", "deleted": True}


def input_items(
    store: Store,
    response_id: str,
    *,
    limit: int,
    order: Order,
    after: str | None,
    include: list[str],
) -> Page:
    require(store, response_id)
    include = check_include(include)
    page = item_log.page(store, response_id, limit=limit, order=order, after=after)
    page.data = [present(i, include) for i in page.data]
    return page


def input_tokens(runner: ResponseRunner, body: dict[str, Any]) -> dict[str, Any]:
    store = runner.store
    history, inputs, _ = context(store, body)
    tools = tool_defs(_check_tools(store, body.get("tools") or []))
    items = history + inputs
    fake = {
        "id": "resp_count",
        "model": body.get("model") or "",
        "instructions": body.get("instructions"),
        "tools": [],
    }
    request = build_request(
        fake,
        chat_messages(store, items, _filenames(store, items)),
        [],
        tools,
        completion_budget=None,
        script_key="",
    )
    return {
        "object": "response.input_tokens",
        "input_tokens": estimate_tokens(request.messages, tools),
    }
