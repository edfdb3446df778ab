"""Shared fixtures: a real server process over real HTTP, and the real ``openai`` SDK.

``server`` is one ``orchestrator serve`` process per test session; ``server_factory``
starts extra ones (restart tests, auth, a second server as an upstream); both are
:class:`orchestrator.testing.ServerProcess`, the helper users get too. Every response
the ``client`` receives is checked against OpenAI's pinned spec.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from orchestrator.testing import ServerProcess
from tests.support import API_KEY, ROOT
from tests.support.proxy import FaultProxy, openai_today
from tests.support.wire_check import SpecChecker

# Fixtures shared by folders (the reconciler's: proj, proxy, direct, sentinels, untouched).
pytest_plugins = ("tests.support.reconcile_fixtures",)

# Tests that use these fixtures talk to a server process: they are the integration layer.
SERVER_FIXTURES = frozenset({"server", "server_factory", "client", "today"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    started: list[ServerProcess] = []

    def make(
        *extra_args: str,
        persistent: bool = True,
        api_key: str | None = API_KEY,
        env: dict[str, str] | None = None,
    ) -> ServerProcess:
        d = tmp_path_factory.mktemp("server")
        sp = ServerProcess(
            db_path=d / "db.sqlite3" if persistent else None,
            api_key=api_key,
            extra_args=extra_args,
            env=env or {},
            log_path=d / "server.log",
            cwd=ROOT,
        )
        started.append(sp)
        return sp.start()

    yield make
    for sp in started:
        sp.stop()


@pytest.fixture(scope="session")
def server(server_factory) -> ServerProcess:
    """One shared server process for the session."""
    return server_factory()


@pytest.fixture
def spec_checker() -> Iterator[SpecChecker]:
    checker = SpecChecker()
    yield checker
    assert not checker.violations, "responses that break OpenAI's spec:\n" + "\n".join(
        checker.violations[:20]
    )


@pytest.fixture
def client(server: ServerProcess, spec_checker: SpecChecker) -> openai.OpenAI:
    """The real openai SDK against the shared server; every response is spec-checked."""
    return server.client(spec_checker)


@pytest.fixture
def today(server: ServerProcess) -> Iterator[FaultProxy]:
    """OpenAI as it is today, played by the shared server behind a proxy: the Assistants
    API (/v1/assistants, /v1/threads) answers 404. Every ``api: openai`` test goes through
    it, and fails if anything called a retired endpoint."""
    proxy = openai_today(server.base_url)
    try:
        yield proxy
    finally:
        proxy.stop()
    assert not proxy.retired_calls(), f"called retired endpoints: {proxy.retired_calls()}"
