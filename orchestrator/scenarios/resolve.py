"""Find the server assistant a scenario names by key.

First the project's lock file (``assistants.lock.json``, or ``assistants.<namespace>.lock.json``,
written by ``orchestrator apply``), checked
against the server (a lockfile from another target or an older apply may be stale);
else the managed assistants on the server, by the one ownership rule the reconciler
uses (:func:`orchestrator.ownership.is_managed`: managed-by marker, exact namespace, key).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai

from orchestrator.ownership import KEY_KEY, is_managed, is_marked


class AssistantNotFound(Exception):
    pass


def lockfile_ids(root: Path, namespace: str) -> dict[str, str]:
    """key -> assistant id from the namespace's lock file (written by ``apply``), if any.

    A lock file that cannot be read is ignored: the server listing is the fallback.
    """
    from orchestrator.reconcile.lockfile import read_lockfile

    try:
        lock = read_lockfile(root, namespace)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    if lock is None or lock.namespace != namespace:
        return {}
    return {key: a.id for key, a in lock.assistants.items() if a.id}


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
                if is_managed(a.metadata, self.namespace):
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
                    is_managed(a.metadata, self.namespace, key) or not is_marked(a.metadata)
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
