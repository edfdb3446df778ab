"""Find the server assistant a scenario names by key.

First the project's ``assistants.lock.json`` (written by ``orchestrator apply``), checked
against the server (a lockfile from another target or an older apply may be stale);
else the managed assistants on the server, by the reserved metadata the reconciler
sets (managed-by marker, namespace, key).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
from openai.types.beta import Assistant

from orchestrator.spec.models import KEY_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, NAMESPACE_KEY

LOCKFILE = "assistants.lock.json"


class AssistantNotFound(Exception):
    pass


def _lock_entry_id(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        for k in ("assistant_id", "id"):
            if isinstance(entry.get(k), str):
                return entry[k]
        nested = entry.get("assistant")
        if nested is not None:
            return _lock_entry_id(nested)
    return None


def lockfile_ids(root: Path, namespace: str) -> dict[str, str]:
    """key -> assistant id from the lockfile, if it exists and is for this namespace."""
    path = root / LOCKFILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    ns = data.get("namespace")
    if isinstance(ns, str) and ns != namespace:
        return {}
    table = data.get("assistants", data)
    if not isinstance(table, dict):
        return {}
    out = {}
    for key, entry in table.items():
        ident = _lock_entry_id(entry)
        if ident:
            out[str(key)] = ident
    return out


def is_managed(assistant: Assistant, namespace: str, key: str | None = None) -> bool:
    meta = assistant.metadata or {}
    if not isinstance(meta, dict):
        return False
    return (
        meta.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE
        and meta.get(NAMESPACE_KEY, "default") == namespace
        and (key is None or meta.get(KEY_KEY) == key)
    )


class AssistantResolver:
    """Resolves keys to ids once per run, shared by concurrent scenarios."""

    def __init__(
        self, client: openai.AsyncOpenAI, root: Path | None, namespace: str, target: str = ""
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.target = target
        self.locked = lockfile_ids(root, namespace) if root else {}
        self._cache: dict[str, str] = {}
        self._listing: dict[str, str] | None = None
        self._lock = asyncio.Lock()

    async def _list_managed(self) -> dict[str, str]:
        if self._listing is None:
            found: dict[str, tuple[int, str]] = {}
            async for a in self.client.beta.assistants.list(limit=100, order="asc"):
                if is_managed(a, self.namespace):
                    key = (a.metadata or {}).get(KEY_KEY)
                    # Should be unique; if an interrupted apply left two, take the newest.
                    if key and (key not in found or a.created_at >= found[key][0]):
                        found[key] = (a.created_at, a.id)
            self._listing = {k: v[1] for k, v in found.items()}
        return self._listing

    async def resolve(self, key: str) -> str:
        async with self._lock:
            if key in self._cache:
                return self._cache[key]
            ident = self.locked.get(key)
            if ident:
                try:
                    a = await self.client.beta.assistants.retrieve(ident)
                except openai.NotFoundError:
                    a = None
                # Only trust the lockfile when the server agrees (or does not tag).
                if a is not None and (
                    is_managed(a, self.namespace, key) or not (a.metadata or {}).get(MANAGED_BY_KEY)
                ):
                    self._cache[key] = a.id
                    return a.id
            listing = await self._list_managed()
            if key in listing:
                self._cache[key] = listing[key]
                return listing[key]
        where = f" on {self.target}" if self.target else ""
        raise AssistantNotFound(
            f"assistant {key!r} (namespace {self.namespace!r}) was never applied{where}: "
            "run `orchestrator apply` first (or check the scenario's `assistant:` and the "
            "--namespace)"
        )
