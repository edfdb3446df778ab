"""``orchestrator.testing.ServerProcess``: the server-process helper the fixtures and
the benchmarks use, as a user would use it on its own.

The everyday paths (start, restart on the same state, a killed server, a client with
a response hook) are exercised by ``server``/``server_factory`` throughout the suite;
these tests cover what the fixtures do not show.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from orchestrator.testing import ServerProcess

# These start server processes of their own.
pytestmark = pytest.mark.integration


def test_the_key_is_not_on_the_command_line(tmp_path: Path) -> None:
    # argv is readable by every local user (`ps`); the environment is not.
    with ServerProcess(api_key="sk-not-in-argv") as srv:
        assert srv.pid is not None
        argv = Path(f"/proc/{srv.pid}/cmdline").read_bytes().split(b"\0")
        assert not any(b"sk-not-in-argv" in a for a in argv), argv
        assert srv.client().beta.assistants.create(model="gpt-4o").object == "assistant"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(
                base_url=srv.base_url, api_key="sk-other", max_retries=0
            ).beta.assistants.list()


def test_context_manager_serves_then_stops(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with ServerProcess(api_key="sk-helper", log_path=log) as srv:
        assert srv.running and srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
        assert srv.client().beta.assistants.create(model="gpt-4o").object == "assistant"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(
                base_url=srv.base_url, api_key="sk-wrong", max_retries=0
            ).beta.assistants.list()
        root = srv.root_url
    assert not srv.running and srv.proc is not None and srv.proc.returncode is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{root}/health", timeout=2)
    assert "Assistants API v2 server on" in srv.log_text()
    assert "sk-helper" not in repr(srv)


def test_the_callers_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``ORCHESTRATOR_API_KEY`` in the developer's shell must not lock the server
    that was asked to run without a key."""
    monkeypatch.setenv("ORCHESTRATOR_API_KEY", "sk-from-the-shell")
    with ServerProcess(api_key=None) as srv:
        assert srv.client().beta.threads.create().object == "thread"


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    srv = ServerProcess(extra_args=["--model-provider", "chat"], log_path=log)
    with pytest.raises(RuntimeError) as err:
        srv.start()
    message = str(err.value)
    assert "orchestrator serve exited with 64 while starting" in message
    assert str(log) in message
    assert "no upstream is set: pass --upstream-base-url" in message
    assert not srv.running


def test_log_text_without_a_log_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no log_path"):
        ServerProcess().log_text()
