"""Responses profiles from the lock file (``assistants.lock.json``, format version 2).

The file's format is ``schemas/lockfile.schema.json``; apps in other languages read the
same ``profiles`` object. This module reads it with the standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Lock files this runtime reads (profiles appeared in version 2).
READS_FORMAT_VERSIONS = (2,)


class ProfileError(Exception):
    """The lock file is missing, unreadable, or has no such profile; the message says
    which file and what to do."""


@dataclass(frozen=True)
class Profile:
    """One assistant's ``responses.create`` parameters (``request``, ids resolved)."""

    key: str
    request: dict[str, Any] = field(repr=False)
    agent_id: str | None = None

    def function_schema(self, name: str) -> dict[str, Any] | None:
        """The JSON Schema of a function tool's arguments (None: no such function)."""
        for tool in self.request.get("tools") or []:
            if tool.get("type") == "function" and tool.get("name") == name:
                return tool.get("parameters") or {}
        return None


def lockfile_path(root: str | Path = ".", namespace: str = "default") -> Path:
    name = "assistants.lock.json" if namespace == "default" else f"assistants.{namespace}.lock.json"
    return Path(root) / name


def load_profile(
    key: str,
    root: str | Path = ".",
    *,
    namespace: str = "default",
    path: str | Path | None = None,
) -> Profile:
    """The profile of assistant ``key`` from the lock file under ``root`` (or ``path``)."""
    lock = Path(path) if path is not None else lockfile_path(root, namespace)
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(
            f"{lock} does not exist: run `orchestrator apply` in the project first"
        ) from None
    except (OSError, ValueError) as e:
        raise ProfileError(f"{lock} cannot be read as JSON ({e})") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version not in READS_FORMAT_VERSIONS:
        raise ProfileError(
            f"{lock} has format_version {version!r}; this runtime reads "
            f"{', '.join(map(str, READS_FORMAT_VERSIONS))} (run `orchestrator apply` again "
            "with this version to rewrite it)"
        )
    profiles = data.get("profiles") or {}
    entry = profiles.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"{lock} has no profile {key!r} (it has: {known})")
    return Profile(key=key, request=dict(entry["request"]), agent_id=entry.get("agent_id"))
