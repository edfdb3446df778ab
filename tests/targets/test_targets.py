"""Targets: the embedded server in-process over real HTTP, and URL targets, as the
settings resolver builds them."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from orchestrator.settings import Flags, resolve_settings
from orchestrator.targets import connect
from tests.support.upstream import FailingUpstream


def test_url_target_never_shows_credentials(tmp_path: Path) -> None:
    flags = Flags(base_url="https://me:sk-secret@llm.example.com:8443/v1/?key=sk-q", api_key="sk-k")
    target = resolve_settings(tmp_path, flags, environ={}).target
    assert target.kind == "url" and target.api_key == "sk-k"
    for shown in (target.describe(), target.label, repr(target)):
        assert "sk-" not in shown and "me:" not in shown, shown
    assert target.describe() == "https://llm.example.com:8443/v1/"


@pytest.mark.integration
def test_embedded_target_serves_over_loopback_http(tmp_path: Path) -> None:
    target = resolve_settings(tmp_path, environ={}).target
    assert target.kind == "embedded" and target.label == "embedded"
    with connect(target) as client:
        assert str(client.base_url).startswith("http://127.0.0.1:")
        created = client.beta.assistants.create(model="gpt-4o", name="persisted")
    # State lives in the project's .orchestrator/ and survives the in-process server.
    assert (tmp_path / ".orchestrator" / "server.sqlite3").is_file()
    with connect(resolve_settings(tmp_path, environ={}).target) as client:
        assert client.beta.assistants.retrieve(created.id).name == "persisted"


@pytest.mark.integration
def test_the_embedded_server_in_its_own_process_serves_the_same_state(tmp_path: Path) -> None:
    # `orchestrator test -j N` (N > 1) puts it in a child process: same state, same HTTP.
    target = resolve_settings(tmp_path, environ={}).target
    with connect(target) as client:
        created = client.beta.assistants.create(model="gpt-4o", name="shared")
    with connect(target, own_process=True) as client:
        assert client.beta.assistants.retrieve(created.id).name == "shared"
        children = [p for p in multiprocessing.active_children() if p.name == "orchestrator-server"]
        assert len(children) == 1
        child = children[0]
        # The key reached the child over a pipe, not on its command line.
        cmdline = Path(f"/proc/{child.pid}/cmdline").read_bytes()
        assert client.api_key.encode() not in cmdline
    assert not child.is_alive()


@pytest.mark.integration
def test_the_embedded_server_process_says_why_it_cannot_start(tmp_path: Path) -> None:
    (tmp_path / ".orchestrator").write_text("a file where the state folder goes")
    target = resolve_settings(tmp_path, environ={}).target
    with pytest.raises(OSError) as in_process, connect(target):
        pass
    with pytest.raises(OSError) as own_process, connect(target, own_process=True):
        pass
    assert str(own_process.value) == str(in_process.value)
    assert not [p for p in multiprocessing.active_children() if p.name == "orchestrator-server"]


@pytest.mark.integration
def test_embedded_target_honours_the_upstream_environment_variables(tmp_path: Path) -> None:
    # These were once ignored on the embedded target (only `serve` read them).
    with FailingUpstream() as upstream:
        env = {
            "ORCHESTRATOR_MODEL_PROVIDER": "chat",
            "ORCHESTRATOR_UPSTREAM_BASE_URL": upstream.base_url,
            "ORCHESTRATOR_UPSTREAM_MAX_RETRIES": "2",
            "ORCHESTRATOR_MODEL_MAP": "gpt-4o=upstream-model",
        }
        settings = resolve_settings(tmp_path, environ=env)
        with connect(settings.target) as client:
            asst = client.beta.assistants.create(model="gpt-4o")
            run = client.beta.threads.create_and_run_poll(
                assistant_id=asst.id,
                thread={"messages": [{"role": "user", "content": "hi"}]},
                poll_interval_ms=50,
            )
    assert run.status == "failed" and run.last_error is not None
    # One try and exactly two retries, each asking for the mapped model.
    assert len(upstream.requests) == 3
    assert {r["body"]["model"] for r in upstream.requests} == {"upstream-model"}
