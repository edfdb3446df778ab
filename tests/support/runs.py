"""Helpers for the runs tests: scripted model steps, and an assistant over a vector store."""

from __future__ import annotations

from typing import Any

import httpx
import openai
from openai.types.beta import Assistant

from orchestrator.testing import ServerProcess
from tests.support import API_KEY


def script(server: ServerProcess, thread_id: str, steps: list[dict[str, Any]]) -> None:
    """Queue steps for the local model on this thread (the server's extension endpoint)."""
    r = httpx.post(
        f"{server.base_url}/x-orchestrator/threads/{thread_id}/script",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"steps": steps},
    )
    assert r.status_code == 200, r.text


def file_search_assistant(
    client: openai.OpenAI,
    files: dict[str, bytes],
    *,
    store_name: str = "docs",
    file_search: dict[str, Any] | None = None,
) -> Assistant:
    """An assistant with file search over a new vector store holding ``files`` (indexed
    before this returns); ``file_search`` is the tool's options."""
    store = client.vector_stores.create(name=store_name)
    for name, content in files.items():
        client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=(name, content))
    tool: dict[str, Any] = {"type": "file_search"}
    if file_search is not None:
        tool["file_search"] = file_search
    return client.beta.assistants.create(
        model="gpt-4o",
        tools=[tool],  # type: ignore[list-item]
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
