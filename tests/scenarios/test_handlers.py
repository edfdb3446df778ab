"""The handler registry: registration, module loading, argument validation, failures.

These exercise the registry as a library user would (no server involved); how a
failing handler fails a scenario and cancels its run is in test_scenarios_failures.py.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest

from orchestrator import handler
from orchestrator.scenarios.handlers import (
    HandlerContext,
    HandlerModuleError,
    answer_call,
    load_handler_module,
    unregister,
)

SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "n": {"type": "integer", "minimum": 1}},
    "required": ["title"],
}
CTX = HandlerContext(thread_id="thread_1", run_id="run_1", scenario="s", vars={"who": "student"})


def answer(
    name: str, args: object, modules: list[Path] = (), mocks: dict | None = None, schema=SCHEMA
):  # type: ignore[assignment]
    raw = args if isinstance(args, str) else json.dumps(args)
    return asyncio.run(
        answer_call(name, raw, schema=schema, modules=list(modules), mocks=mocks or {}, context=CTX)
    )


@pytest.fixture
def module(tmp_path: Path):
    def write(body: str, name: str = "h.py") -> Path:
        path = tmp_path / name
        path.write_text(
            "from orchestrator import handler\n" + textwrap.dedent(body), encoding="utf-8"
        )
        load_handler_module(path)
        return path

    yield write
    for name in ("t_sync", "t_async", "t_ctx", "t_boom", "t_set", "t_shared"):
        unregister(name)


def test_sync_and_async_handlers_get_keyword_arguments(module) -> None:
    path = module(
        """
        @handler("t_sync")
        def sync(title, n=1):
            return {"title": title.upper(), "n": n}

        @handler("t_async")
        async def asy(title):
            return "plain " + title
        """
    )
    a = answer("t_sync", {"title": "quiz", "n": 2}, [path])
    assert (a.output, a.source, a.failure) == ('{"title": "QUIZ", "n": 2}', "handler", None)
    # Strings pass through untouched (not JSON-quoted).
    assert answer("t_async", {"title": "x"}, [path]).output == "plain x"


def test_context_by_annotation_or_name(module) -> None:
    path = module(
        """
        from orchestrator.scenarios.handlers import HandlerContext

        @handler("t_ctx")
        def with_ctx(title: str, c: HandlerContext):
            return [c.thread_id, c.run_id, c.scenario, c.vars["who"], title]
        """
    )
    assert json.loads(answer("t_ctx", {"title": "t"}, [path]).output) == [
        "thread_1",
        "run_1",
        "s",
        "student",
        "t",
    ]


def test_invalid_arguments_are_not_passed_to_the_handler(module) -> None:
    path = module(
        """
        @handler("t_sync")
        def sync(title, n=1):
            raise AssertionError("must not be called")
        """
    )
    a = answer("t_sync", {"n": 0}, [path])
    assert a.failure is not None and a.failure.kind == "invalid_arguments"
    text = a.failure.render()
    assert "do not match its JSON Schema" in text
    assert "(root): 'title' is a required property" in text
    assert "n: 0 is less than the minimum of 1" in text
    assert 'arguments: {"n": 0}' in text
    bad = answer("t_sync", "{oops", [path])
    assert bad.failure.kind == "invalid_json" and "not JSON" in bad.failure.message


def test_handler_exception_carries_the_handlers_traceback(module) -> None:
    path = module(
        """
        def helper(x):
            return 1 / x

        @handler("t_boom")
        def boom(title):
            return helper(0)
        """
    )
    a = answer("t_boom", {"title": "x"}, [path])
    assert a.failure.kind == "exception"
    assert "raised ZeroDivisionError: division by zero" in a.failure.message
    assert "in helper" in a.failure.traceback and str(path) in a.failure.traceback
    # The runner's own frames are left out.
    assert "handlers.py" not in a.failure.traceback


def test_output_that_is_not_json(module) -> None:
    path = module(
        """
        @handler("t_set")
        def s(title):
            return {1, 2}
        """
    )
    a = answer("t_set", {"title": "x"}, [path])
    assert a.failure.kind == "bad_output" and "not JSON-serialisable" in a.failure.message


def test_missing_handler_mock_and_precedence(module, tmp_path: Path) -> None:
    a = answer("t_nobody", {"title": "x"})
    assert a.failure.kind == "missing"
    assert "@handler('t_nobody')" in a.failure.message and "mocks:" in a.failure.message
    m = answer("t_nobody", {"title": "x"}, mocks={"t_nobody": {"ok": True}})
    assert (m.output, m.source) == ('{"ok": true}', "mock")
    # Another scenario's module does not answer this scenario's calls; its mock does.
    other = module(
        """
        @handler("t_shared")
        def shared(title):
            return "from other"
        """,
        name="other.py",
    )
    assert answer("t_shared", {"title": "x"}, [], mocks={"t_shared": "mocked"}).output == "mocked"
    assert answer("t_shared", {"title": "x"}, []).failure.kind == "missing"
    assert answer("t_shared", {"title": "x"}, [other]).output == "from other"


def test_handlers_registered_outside_scenario_modules_are_global() -> None:
    @handler("t_sync")
    def sync(title: str) -> str:
        return "global"

    try:
        assert answer("t_sync", {"title": "x"}).output == "global"
    finally:
        unregister("t_sync")


def test_module_import_errors_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_here\n", encoding="utf-8")
    with pytest.raises(HandlerModuleError) as info:
        load_handler_module(bad)
    assert "ModuleNotFoundError" in info.value.message and str(bad) in info.value.message
    with pytest.raises(HandlerModuleError, match="does not exist"):
        load_handler_module(tmp_path / "missing.py")
