"""pytest plugin: collect scenario YAML files (``kind: Scenario``) as test items.

Opt-in, so it stays inert in projects that do not ask for it::

    pytest --scenarios scenarios/           # or, in pytest.ini / pyproject.toml:
    [tool.pytest.ini_options]
    orchestrator_scenarios = true
    testpaths = ["tests", "scenarios"]

Each scenario is one item. A scenario that cannot be run as written (a file that does
not validate, a handler module that does not import, an assistant that was never
applied, an unreachable server) is reported as an *error* (raised during setup); a
scenario whose expectations are not met *fails*. The target is the project's (the
embedded server by default, started once per session), or ``--scenarios-base-url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from orchestrator.project.specs import ScenarioSpec
    from orchestrator.scenarios.results import ScenarioResult
    from orchestrator.scenarios.runner import ScenarioRunner, _Prepared

T = TypeVar("T")
_SESSION_KEY = "orchestrator-scenarios-session"
_KIND = re.compile(r"^kind:\s*['\"]?Scenario['\"]?\s*(#.*)?$", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orchestrator")
    group.addoption(
        "--scenarios",
        action="store_true",
        default=False,
        help="collect orchestrator scenario files (kind: Scenario) as tests",
    )
    group.addoption(
        "--scenarios-base-url",
        default=None,
        help="run scenarios against this server (the project's target API: assistants or "
        "openai), key from OPENAI_API_KEY (default: the project's target, else the "
        "embedded server)",
    )
    group.addoption(
        "--scenarios-cassettes",
        choices=("auto", "replay", "live", "record"),
        default="auto",
        help="cassette mode for scenarios (default auto: replay a cassette when one exists "
        "and the target is embedded)",
    )
    group.addoption(
        "--scenarios-poll",
        action="store_true",
        default=False,
        help="poll runs instead of streaming them",
    )
    parser.addini(
        "orchestrator_scenarios", "collect scenario YAML files as tests", type="bool", default=False
    )


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--scenarios") or config.getini("orchestrator_scenarios"))


def pytest_configure(config: pytest.Config) -> None:
    if _enabled(config):
        config.pluginmanager.register(_Session(config), _SESSION_KEY)
        # Using the Assistants API is the point; the SDK's deprecation notice is noise.
        for message in ("The Assistants API is deprecated", "deprecated"):
            config.addinivalue_line("filterwarnings", f"ignore:{message}:DeprecationWarning")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if not _enabled(parent.config):
        return None
    name = file_path.name
    if file_path.suffix not in (".yaml", ".yml") or name.endswith(
        (".cassette.yaml", ".cassette.yml")
    ):
        return None
    try:
        head = file_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not _KIND.search(head):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioLoadError(Exception):
    """The scenario file does not load (its diagnostics are the message)."""


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from orchestrator.project import find_project_root, load_project

        root = find_project_root(self.path.parent)
        project = load_project(root, [self.path])
        errors = [d for d in project.diagnostics if d.severity == "error"]
        if errors:
            raise ScenarioLoadError("\n".join(str(d) for d in errors))
        here = self.path.resolve()
        specs = [s for s in project.scenarios if s.source.path.resolve() == here]
        session: _Session = self.config.pluginmanager.get_plugin(_SESSION_KEY)
        session.projects.setdefault(root, project)
        for spec in specs:
            yield ScenarioItem.from_parent(
                self, name=spec.name, spec=spec, root=root, shared_file=len(specs) > 1
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, ScenarioLoadError):
            return f"scenario file {self.path} does not load:\n{excinfo.value}"
        return str(super().repr_failure(excinfo))


class ScenarioItem(pytest.Item):
    def __init__(
        self, *, spec: ScenarioSpec, root: Path, shared_file: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.root = root
        self.shared_file = shared_file
        self.prepared: _Prepared | None = None
        # Tags become markers (`pytest -m smoke`), registered so --strict-markers is fine.
        for tag in spec.tags:
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tag):
                self.config.addinivalue_line("markers", f"{tag}: orchestrator scenario tag")
                self.add_marker(tag)

    def _session(self) -> _Session:
        return self.config.pluginmanager.get_plugin(_SESSION_KEY)

    def setup(self) -> None:
        # Everything that can make the scenario unrunnable happens here, so pytest
        # reports it as an error (not a failure); pytrace=False: the message says it all.
        from orchestrator.settings import SettingsError

        session = self._session()
        try:
            runner = session.runner(self.root)
        except SettingsError as exc:
            pytest.fail(f"orchestrator settings: {exc}", pytrace=False)
        problem = session.call(runner.preflight())
        if problem is not None:
            pytest.fail(problem.render(), pytrace=False)
        prepared = runner.prepare(self.spec, self.shared_file)
        if prepared.problem is not None:
            pytest.fail(prepared.problem.render(), pytrace=False)
        from orchestrator.scenarios.resolve import AssistantNotFound

        try:
            session.call(runner.driver.resolve(self.spec.assistant))
        except AssistantNotFound as exc:
            pytest.fail(f"{self.spec.source}: {exc}", pytrace=False)
        self.prepared = prepared

    def runtest(self) -> None:
        assert self.prepared is not None
        session = self._session()
        runner = session.runner(self.root)
        result: ScenarioResult = session.call(runner.run_scenario(self.prepared))
        self.user_properties.append(("thread_id", result.thread_id))
        if result.outcome != "passed":
            pytest.fail(_render(result), pytrace=False)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.spec.source.line - 1, f"scenario: {self.spec.name}"


def _render(result: ScenarioResult) -> str:
    head = f"scenario {result.name!r} ({result.source}) {result.outcome}"
    body = "\n\n".join(p.render() for p in result.problems())
    notes = "".join(f"\nnote: {n}" for n in result.notes)
    return f"{head}\n{body}{notes}"


class _Session:
    """One event loop thread, one client and runner per project for the whole session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.projects: dict[Path, Any] = {}
        self._runners: dict[Path, ScenarioRunner] = {}
        self._stack = contextlib.ExitStack()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="orchestrator-scenarios", daemon=True
            )
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._ensure_loop()
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def runner(self, root: Path) -> ScenarioRunner:
        with self._lock:
            if root in self._runners:
                return self._runners[root]
            from orchestrator.scenarios.runner import (
                RunnerOptions,
                ScenarioRunner,
                async_client_for,
            )
            from orchestrator.settings import Flags, resolve_settings
            from orchestrator.targets import connect

            project = self.projects[root]
            settings = resolve_settings(
                project.config, Flags(base_url=self.config.getoption("--scenarios-base-url"))
            )
            target = settings.target
            client = self._stack.enter_context(connect(target))

            async def make() -> ScenarioRunner:
                options = RunnerOptions(
                    stream=not self.config.getoption("--scenarios-poll"),
                    cassettes=self.config.getoption("--scenarios-cassettes"),
                    namespace=settings.namespace,
                    embedded=target.kind == "embedded",
                    api=target.api,
                )
                return ScenarioRunner(
                    async_client_for(client), options, root=root, target=target.describe()
                )

            runner = self.call(make())
            self._runners[root] = runner
            return runner

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        for runner in self._runners.values():
            with contextlib.suppress(Exception):
                self.call(runner.cleanup())
                self.call(runner.client.close())
        self._runners.clear()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(5)
            self._loop.close()
            self._loop = None
        self._stack.close()
