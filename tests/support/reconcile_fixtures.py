"""The reconciler tests' fixtures, registered for every test folder by ``tests/conftest.py``.

Every test gets its own namespace (``proj``) on the shared ``orchestrator serve`` process
and talks to it through :class:`tests.support.proxy.FaultProxy` (``proxy``), which
counts requests at the HTTP layer and injects faults where a test asks. A module-wide set
of *sentinel* objects the reconciler must never touch — unmanaged assistants, files and
vector stores, and objects managed by another namespace — is checked after every test
(``untouched``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from orchestrator.ownership import KEY_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, NAMESPACE_KEY
from orchestrator.reconcile.identity import legacy_namespace_tag
from orchestrator.testing import ServerProcess
from tests.support.proxy import FaultProxy
from tests.support.reconcile import SCORES_CSV, Proj, store_files


@pytest.fixture(scope="module")
def proxy(server: ServerProcess) -> Iterator[FaultProxy]:
    p = FaultProxy(server.base_url).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def direct(server: ServerProcess) -> Iterator[openai.OpenAI]:
    """An SDK client straight to the server (no proxy), for setting up and checking.

    It never reuses a connection: uvicorn closes one that was idle for 5 s, and a request
    sent on it just then fails with ``RemoteProtocolError`` (this client is idle for about
    that long while a test waits on a CLI subprocess, e.g. the killed apply).
    """
    http = httpx.Client(timeout=60, limits=httpx.Limits(max_keepalive_connections=0))
    client = openai.OpenAI(
        base_url=server.base_url,
        api_key=server.api_key or "not-needed",
        http_client=http,
        max_retries=0,
    )
    yield client
    client.close()


@dataclass
class Sentinels:
    ids: dict[str, str]
    snapshot: dict[str, Any]


def _snapshot(client: openai.OpenAI, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "assistant": client.beta.assistants.retrieve(ids["assistant"]).to_dict(),
        "other_ns": client.beta.assistants.retrieve(ids["other_ns"]).to_dict(),
        "store": client.vector_stores.retrieve(ids["store"]).metadata,
        "store_files": sorted(f.id for f in store_files(client, ids["store"])),
        "file": client.files.retrieve(ids["file"]).to_dict(),
        "lookalike": client.files.retrieve(ids["lookalike"]).to_dict(),
        "twin": client.files.retrieve(ids["twin"]).to_dict(),
        "other_store": client.vector_stores.retrieve(ids["other_store"]).metadata,
    }


@pytest.fixture(scope="module")
def sentinels(direct: openai.OpenAI) -> Sentinels:
    tag = uuid.uuid4().hex[:8]
    f = direct.files.create(
        file=("sentinel-notes.md", b"# Sentinel\nnot ours\n"), purpose="assistants"
    )
    # A file named as an earlier version named ours, but for another namespace.
    lookalike = direct.files.create(
        file=(f"{'a' * 16}-{legacy_namespace_tag(f'other-{tag}')}--notes.md", b"lookalike"),
        purpose="assistants",
    )
    # Someone's own copy of a file the tests manage: same name, same bytes, used by nothing.
    twin = direct.files.create(file=("scores.csv", SCORES_CSV), purpose="assistants")
    vs = direct.vector_stores.create(name=f"sentinel {tag}", file_ids=[f.id])
    asst = direct.beta.assistants.create(
        model="gpt-4o",
        name=f"Sentinel {tag}",
        instructions="not managed",
        tools=[{"type": "code_interpreter"}, {"type": "file_search"}],
        tool_resources={
            "code_interpreter": {"file_ids": [f.id]},
            "file_search": {"vector_store_ids": [vs.id]},
        },
    )
    # Managed by the orchestrator, but in another namespace, with keys the tests use.
    other_meta = {MANAGED_BY_KEY: MANAGED_BY_VALUE, NAMESPACE_KEY: f"other-{tag}", KEY_KEY: "tutor"}
    other = direct.beta.assistants.create(model="gpt-4o", name="Tutor other", metadata=other_meta)
    other_vs = direct.vector_stores.create(name="quiz", metadata={**other_meta, KEY_KEY: "quiz"})
    ids = {
        "assistant": asst.id,
        "other_ns": other.id,
        "store": vs.id,
        "file": f.id,
        "lookalike": lookalike.id,
        "twin": twin.id,
        "other_store": other_vs.id,
    }
    return Sentinels(ids=ids, snapshot=_snapshot(direct, ids))


@pytest.fixture
def untouched(sentinels: Sentinels, direct: openai.OpenAI, proxy: FaultProxy) -> Iterator[None]:
    """After the test: every sentinel object is exactly as it was; faults are reset."""
    proxy.configure()
    proxy.reset()
    yield
    proxy.configure()
    proxy.release()
    assert _snapshot(direct, sentinels.ids) == sentinels.snapshot


@pytest.fixture
def proj(tmp_path: Path, proxy: FaultProxy, untouched: None) -> Proj:
    return Proj(tmp_path / "project", f"t-{uuid.uuid4().hex[:10]}", proxy)
