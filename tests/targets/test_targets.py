"""Targets: the embedded server in-process over real HTTP, and URL targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.targets import connect, resolve_target


def test_url_target_never_shows_credentials(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    target = resolve_target(
        Path("."), base_url="https://me:sk-secret@llm.example.com:8443/v1/?key=sk-q", api_key="sk-k"
    )
    assert target.kind == "url"
    shown = target.describe()
    assert "sk-" not in shown and "me:" not in shown
    assert shown == "https://llm.example.com:8443/v1/"


@pytest.mark.integration
def test_embedded_target_serves_over_loopback_http(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    target = resolve_target(tmp_path)
    assert target.kind == "embedded"
    with connect(target) as client:
        assert str(client.base_url).startswith("http://127.0.0.1:")
        created = client.beta.assistants.create(model="gpt-4o", name="persisted")
    # State lives in the project's .orchestrator/ and survives the in-process server.
    assert (tmp_path / ".orchestrator").is_dir()
    with connect(resolve_target(tmp_path)) as client:
        assert client.beta.assistants.retrieve(created.id).name == "persisted"
