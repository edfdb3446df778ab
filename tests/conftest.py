"""Shared fixtures: a real server process over real HTTP, and the real ``openai`` SDK.

``server`` is one ``orchestrator serve`` process per test session; ``server_factory``
starts extra ones (restart tests, auth, a second server as an upstream). Every
response the ``client`` receives is checked against OpenAI's pinned spec.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import pytest

from tests.spec_check import SpecChecker

API_KEY = "sk-test-orchestrator"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    db_path: Path | None
    api_key: str | None = API_KEY
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ServerProcess:
        self.port = free_port()
        args = [
            sys.executable,
            "-m",
            "orchestrator",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path) if self.db_path else ":memory:",
            *self.extra_args,
        ]
        if self.api_key:
            args += ["--api-key", self.api_key]
        env = {**os.environ, **self.env}
        env.pop("ORCHESTRATOR_API_KEY", None)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; log: {self.log_path}"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not become healthy in 30 s")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            self.proc.wait(15)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def client(self, checker: SpecChecker | None = None, **kwargs: object) -> openai.OpenAI:
        hooks = {"response": [checker]} if checker else {}
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "anything",
            http_client=httpx.Client(event_hooks=hooks, timeout=60),
            max_retries=0,
            **kwargs,  # type: ignore[arg-type]
        )


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
            extra_args=list(extra_args),
            env=env or {},
            log_path=d / "server.log",
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
