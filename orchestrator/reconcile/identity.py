"""How the reconciler marks what it owns on the server, and recognises it again.

Ownership lives on the server (no local state):

- assistants and vector stores carry the reserved ``metadata`` keys of
  :mod:`orchestrator.spec.models` (managed-by marker, namespace, logical key, spec sha256);
- files have no metadata in the Files API, so the uploaded *filename* carries the
  content hash and a namespace tag: ``<sha256[:16]>-<ns tag>--<original name>``. The
  original name stays last so the extension (which decides how the server parses the
  file) is kept. A file is ours when its name has our namespace's tag; this also finds
  files uploaded by an apply that was killed before it attached them;
- a file attached to a vector store also carries its full sha256 in the vector-store
  file ``attributes`` (``orchestrator-sha256``), where file search filters can use it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from orchestrator.spec.models import (
    KEY_KEY,
    MANAGED_BY_KEY,
    MANAGED_BY_VALUE,
    NAMESPACE_KEY,
    SHA_KEY,
)

# Metadata key present only on lock objects (vector stores used as a lease).
LOCK_KEY = "orchestrator-lock"
FILE_SHA_ATTRIBUTE = "orchestrator-sha256"

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_UPLOAD_NAME_RE = re.compile(r"^(?P<sha>[0-9a-f]{16})-(?P<tag>[0-9a-f]{8})--(?P<name>.+)$", re.S)


def check_namespace(namespace: str) -> str | None:
    """Why ``namespace`` is unusable, or None when it is fine."""
    if not _NAMESPACE_RE.match(namespace):
        return (
            f"namespace {namespace!r} is not valid: use 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


def namespace_tag(namespace: str) -> str:
    """A short, fixed-width tag of the namespace for file names."""
    return hashlib.sha256(f"{MANAGED_BY_VALUE}:{namespace}".encode()).hexdigest()[:8]


def managed_metadata(namespace: str, key: str, sha256: str) -> dict[str, str]:
    return {
        MANAGED_BY_KEY: MANAGED_BY_VALUE,
        NAMESPACE_KEY: namespace,
        KEY_KEY: key,
        SHA_KEY: sha256,
    }


def is_marked(metadata: dict[str, Any] | None) -> bool:
    """Carries our managed-by marker (in any namespace)."""
    return bool(metadata) and metadata.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE  # type: ignore[union-attr]


def is_managed(metadata: dict[str, Any] | None, namespace: str) -> bool:
    """Ours in this namespace, and not a lock object."""
    return (
        is_marked(metadata)
        and metadata.get(NAMESPACE_KEY) == namespace  # type: ignore[union-attr]
        and LOCK_KEY not in metadata  # type: ignore[operator]
        and bool(metadata.get(KEY_KEY))  # type: ignore[union-attr]
    )


def is_lock(metadata: dict[str, Any] | None, namespace: str) -> bool:
    return (
        is_marked(metadata)
        and metadata.get(NAMESPACE_KEY) == namespace  # type: ignore[union-attr]
        and LOCK_KEY in metadata  # type: ignore[operator]
    )


def upload_filename(namespace: str, sha256: str, name: str) -> str:
    return f"{sha256[:16]}-{namespace_tag(namespace)}--{name}"


def parse_upload_filename(filename: str, namespace: str) -> tuple[str, str] | None:
    """``(sha256 prefix, original name)`` when the file is ours in ``namespace``."""
    m = _UPLOAD_NAME_RE.match(filename or "")
    if not m or m["tag"] != namespace_tag(namespace):
        return None
    return m["sha"], m["name"]


def original_filename(filename: str) -> str:
    """The name a user gave the file, without our prefix (any namespace)."""
    m = _UPLOAD_NAME_RE.match(filename or "")
    return m["name"] if m else filename
