"""Python handlers that answer an assistant's function calls in scenarios.

A handler is registered by name with :func:`handler` and receives the call's parsed
arguments as keyword arguments::

    from orchestrator import handler

    @handler("display_quiz")
    def display_quiz(title: str, questions: list[dict]) -> list[str]:
        return ["B", "four"]

Handlers may be sync or async. A parameter annotated :class:`HandlerContext` (or named
``context``/``ctx`` when the function has no argument of that name) receives the thread
id, run id, scenario name and scenario variables. The return value is sent back as the
tool output: strings pass through, anything else is JSON-encoded.

Before a handler is called, the arguments are validated against the function's JSON
Schema (as the run declares it); invalid arguments, a missing handler, a handler
exception or an output that is not JSON-serialisable are reported as a
:class:`HandlerFailure` naming the tool, the arguments and the handler's traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import inspect
import json
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

import jsonschema

F = TypeVar("F", bound=Callable[..., Any])

_CONTEXT_NAMES = ("context", "ctx")


@dataclass(frozen=True)
class HandlerContext:
    """What a handler may want to know about the call it answers."""

    thread_id: str
    run_id: str
    scenario: str
    vars: dict[str, Any] = field(default_factory=dict)
    # 0-based index of the turn and the id of the tool call being answered.
    turn: int = 0
    tool_call_id: str = ""


@dataclass
class Handler:
    name: str
    fn: Callable[..., Any]
    # Resolved file of the module that registered it: scenarios prefer handlers from
    # the modules they list.
    source: Path | None
    context_param: str | None
    is_async: bool

    def describe(self) -> str:
        where = f" ({self.source})" if self.source else ""
        return f"{getattr(self.fn, '__qualname__', self.fn)!s}{where}"


# name -> handlers registered under it, most recent last.
_REGISTRY: dict[str, list[Handler]] = {}
_REGISTRY_LOCK = threading.Lock()
# Resolved module path -> module name, so a module listed by many scenarios loads once.
_LOADED: dict[Path, str] = {}


def _context_param(fn: Callable[..., Any]) -> str | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        hints = get_type_hints(fn)
    except Exception:  # unresolvable annotations: fall back to names
        hints = {}
    for name in sig.parameters:
        if hints.get(name) is HandlerContext:
            return name
    for name in _CONTEXT_NAMES:
        if name in sig.parameters:
            return name
    return None


def handler(name: str) -> Callable[[F], F]:
    """Register the decorated function as the handler of function tool ``name``."""
    if not isinstance(name, str) or not name:
        raise TypeError("handler() takes the function tool's name, e.g. @handler('display_quiz')")

    def register(fn: F) -> F:
        module = sys.modules.get(getattr(fn, "__module__", ""), None)
        file = getattr(module, "__file__", None)
        entry = Handler(
            name=name,
            fn=fn,
            source=Path(file).resolve() if file else None,
            context_param=_context_param(fn),
            is_async=inspect.iscoroutinefunction(fn),
        )
        with _REGISTRY_LOCK:
            entries = _REGISTRY.setdefault(name, [])
            # Re-registering from the same module (a reload) replaces the old entry.
            entries[:] = [e for e in entries if e.source is None or e.source != entry.source] + [
                entry
            ]
        return fn

    return register


def registered(name: str) -> list[Handler]:
    with _REGISTRY_LOCK:
        return list(_REGISTRY.get(name, ()))


def unregister(name: str) -> None:
    """Forget every handler of ``name`` (for tests and interactive use)."""
    with _REGISTRY_LOCK:
        _REGISTRY.pop(name, None)


class HandlerModuleError(Exception):
    """A handler module could not be imported; ``details`` holds its traceback."""

    def __init__(self, path: Path, message: str, details: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.details = details


_LOAD_LOCK = threading.Lock()


def load_handler_module(path: Path) -> None:
    """Import a handler module by file path, once per process."""
    path = Path(path).resolve()
    with _LOAD_LOCK:
        if path in _LOADED:
            return
        if not path.is_file():
            raise HandlerModuleError(
                path, f"handler module {path} does not exist; fix the scenario's `handlers:` list"
            )
        # A unique, stable module name per file so two `handlers/quiz.py` never clash.
        modname = "orchestrator_handlers_" + "".join(
            c if c.isalnum() else "_" for c in str(path.with_suffix(""))
        )
        spec = importlib.util.spec_from_file_location(modname, path)
        if spec is None or spec.loader is None:
            raise HandlerModuleError(path, f"cannot import handler module {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        # Let handler modules import their siblings (e.g. a shared helpers.py).
        parent = str(path.parent)
        if parent not in sys.path:
            sys.path.append(parent)
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:
            sys.modules.pop(modname, None)
            raise HandlerModuleError(
                path,
                f"importing handler module {path} raised {type(exc).__name__}: {exc}",
                _user_traceback(exc),
            ) from None
        _LOADED[path] = modname


def find_handler(name: str, modules: list[Path]) -> Handler | None:
    """The handler for ``name`` from the scenario's own modules, else one registered
    outside any scenario's handler modules (e.g. by a library user or a conftest).

    Handlers of *other* scenarios' modules are never used: which modules a scenario
    lists decides what answers its calls, however many scenarios share the process.
    """
    entries = registered(name)
    wanted = {Path(m).resolve() for m in modules}
    own = [e for e in entries if e.source in wanted]
    if own:
        return own[-1]
    with _LOAD_LOCK:
        scenario_modules = set(_LOADED)
    free = [e for e in entries if e.source not in scenario_modules]
    return free[-1] if free else None


# --- calling ----------------------------------------------------------------------


@dataclass
class HandlerFailure:
    """Why a tool call could not be answered; the scenario fails with this."""

    # "missing" | "invalid_json" | "invalid_arguments" | "exception" | "bad_output" | "exit"
    # | "loop" (the model kept calling functions: a turn over Responses ends it)
    kind: str
    tool: str
    arguments: str
    message: str
    traceback: str = ""

    def render(self) -> str:
        lines = [f"{self.message}", f"  tool: {self.tool}", f"  arguments: {self.arguments}"]
        if self.traceback:
            lines.append("  handler traceback:")
            lines.extend("    " + ln for ln in self.traceback.rstrip().splitlines())
        return "\n".join(lines)


@dataclass
class ToolAnswer:
    output: str | None = None
    failure: HandlerFailure | None = None
    # "handler" | "mock": where the output came from (shown in transcripts).
    source: str = ""


def _user_traceback(exc: BaseException) -> str:
    """The traceback without the runner's own frames (they only add noise)."""
    tb = exc.__traceback__
    here = Path(__file__).resolve()
    while tb is not None and Path(tb.tb_frame.f_code.co_filename).resolve() == here:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def to_output(value: Any) -> str:
    """Tool output text: strings pass through, the rest is JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    # Built once per schema: every call of a function in every scenario reuses it.
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def validate_arguments(schema: dict[str, Any] | None, args: Any) -> list[str]:
    """Every way ``args`` breaks the function's JSON Schema, as readable lines."""
    if not schema:
        return [] if isinstance(args, dict) else ["arguments must be a JSON object"]
    validator = _validator(json.dumps(schema, sort_keys=True))
    problems = []
    for err in sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        problems.append(f"{where}: {err.message}")
    return problems


async def _in_daemon_thread(fn: Callable[[], Any]) -> Any:
    # A plain daemon thread, not the loop's executor: a sync handler that hangs past a
    # timeout must not keep the process from exiting.
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()

    def target() -> None:
        try:
            result = fn()
        except BaseException as exc:
            deliver = functools.partial(_set_exception, fut, exc)
        else:
            deliver = functools.partial(_set_result, fut, result)
        # A handler that outlived its turn (timeout, Ctrl-C) may find the loop gone.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver)

    threading.Thread(target=target, name="orchestrator-handler", daemon=True).start()
    return await fut


def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


async def answer_call(
    name: str,
    raw_arguments: str,
    *,
    schema: dict[str, Any] | None,
    modules: list[Path],
    mocks: dict[str, Any],
    context: HandlerContext,
) -> ToolAnswer:
    """Validate a function call's arguments and answer it with its handler or mock."""
    try:
        args = json.loads(raw_arguments) if raw_arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return ToolAnswer(
            failure=HandlerFailure(
                "invalid_json",
                name,
                raw_arguments,
                f"the assistant called {name} with arguments that are not JSON ({exc})",
            )
        )
    problems = validate_arguments(schema, args)
    if problems:
        return ToolAnswer(
            failure=HandlerFailure(
                "invalid_arguments",
                name,
                raw_arguments,
                f"the assistant called {name} with arguments that do not match its JSON Schema:\n"
                + "\n".join(f"    - {p}" for p in problems),
            )
        )
    found = find_handler(name, modules)
    own = found is not None and found.source in {Path(m).resolve() for m in modules}
    if name in mocks and not own:
        # A scenario's static output beats a handler it did not ask for.
        return ToolAnswer(output=to_output(mocks[name]), source="mock")
    if found is None:
        where = ", ".join(str(m) for m in modules) or "no handler modules listed"
        return ToolAnswer(
            failure=HandlerFailure(
                "missing",
                name,
                raw_arguments,
                f"no handler for function {name!r}: register one with @handler({name!r}) in a "
                f"module listed under the scenario's `handlers:` ({where}), or give a static "
                f"output under `mocks: {{{name}: ...}}`",
            )
        )
    kwargs = dict(args)
    if found.context_param:
        kwargs[found.context_param] = context
    try:
        if found.is_async:
            result = await found.fn(**kwargs)
        else:
            result = await _in_daemon_thread(lambda: found.fn(**kwargs))
            if inspect.isawaitable(result):  # a sync function returning a coroutine
                result = await _await(result)
    except (SystemExit, KeyboardInterrupt) as exc:
        # Handler code that tries to end the process ends its scenario instead (an
        # error, not a failure): `sys.exit(0)` in a handler must not turn a run green.
        return ToolAnswer(
            failure=HandlerFailure(
                "exit",
                name,
                raw_arguments,
                f"handler {found.describe()} for {name} {_exit_words(exc)}; a handler must "
                "return the tool's output (or raise an exception to fail the scenario)",
                _user_traceback(exc),
            )
        )
    except Exception as exc:
        return ToolAnswer(
            failure=HandlerFailure(
                "exception",
                name,
                raw_arguments,
                f"handler {found.describe()} for {name} raised {type(exc).__name__}: {exc}",
                _user_traceback(exc),
            )
        )
    try:
        output = to_output(result)
    except (TypeError, ValueError) as exc:
        return ToolAnswer(
            failure=HandlerFailure(
                "bad_output",
                name,
                raw_arguments,
                f"handler {found.describe()} for {name} returned a {type(result).__name__}, "
                f"which is not JSON-serialisable ({exc}); return a string or JSON data",
            )
        )
    return ToolAnswer(output=output, source="handler")


def _exit_words(exc: SystemExit | KeyboardInterrupt) -> str:
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    return "raised KeyboardInterrupt"


async def _await(value: Awaitable[Any]) -> Any:
    return await value
