"""Ownership: how the product marks the server objects it manages, and recognises them.

The one home for:

- the reserved ``metadata`` keys (managed-by marker, namespace, logical key, spec hash,
  file entries) and the markers of lock objects and journal pages;
- :func:`is_managed` — the one rule for "this object is ours, in this namespace, under
  this key", used by the reconciler and by the scenario runner alike;
- :func:`managed_metadata` — what apply writes on a managed object;
- the spec hashes apply writes (:func:`assistant_spec_sha256`,
  :func:`vector_store_spec_sha256`), over the canonical JSON form :func:`sha256_json`.

No imports from the rest of the product: the loader, the reconciler and the runner all
build on it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

# Metadata keys the reconciler keeps on managed server objects. User metadata may use
# at most MAX_METADATA_KEYS - len(RESERVED_METADATA_KEYS) keys.
MANAGED_BY_KEY = "managed-by"
MANAGED_BY_VALUE = "assistant-orchestrator"
NAMESPACE_KEY = "orchestrator-namespace"
KEY_KEY = "orchestrator-key"
SHA_KEY = "orchestrator-spec-sha256"
# Which code-interpreter file holds which content (the Files API has no metadata).
FILES_KEY = "orchestrator-files"
RESERVED_METADATA_KEYS = (MANAGED_BY_KEY, NAMESPACE_KEY, KEY_KEY, SHA_KEY, FILES_KEY)
MAX_METADATA_KEYS = 16

# Metadata key present only on lock objects (vector stores used as a lease).
LOCK_KEY = "orchestrator-lock"
# Metadata key present only on write-ahead journal pages.
JOURNAL_KEY = "orchestrator-journal"
# Metadata key present only on file records: on `api: openai`, the empty vector store that
# records an assistant's code-interpreter files (see orchestrator.reconcile.platform).
RECORD_KEY = "orchestrator-record"
# A managed vector store's file carries its content sha256 in this attribute.
FILE_SHA_ATTRIBUTE = "orchestrator-sha256"

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def check_namespace(namespace: str) -> str | None:
    """Why ``namespace`` is unusable, or None when it is fine."""
    if not _NAMESPACE_RE.match(namespace):
        return (
            f"namespace {namespace!r} is not valid: use 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


# -- recognising what is ours ------------------------------------------------------------


def is_marked(metadata: Mapping[str, Any] | None) -> bool:
    """Carries our managed-by marker (in any namespace)."""
    return bool(metadata) and metadata.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE  # type: ignore[union-attr]


def _in_namespace(metadata: Mapping[str, Any] | None, namespace: str) -> bool:
    # Exact: an object without a namespace key is in none (apply always writes one).
    return is_marked(metadata) and metadata.get(NAMESPACE_KEY) == namespace  # type: ignore[union-attr]


def is_managed(metadata: Mapping[str, Any] | None, namespace: str, key: str | None = None) -> bool:
    """A managed object of this namespace (under ``key``, when given): neither a lock,
    a journal page nor a file record, and with a logical key."""
    if not _in_namespace(metadata, namespace):
        return False
    assert metadata is not None
    found = metadata.get(KEY_KEY)
    return (
        LOCK_KEY not in metadata
        and JOURNAL_KEY not in metadata
        and RECORD_KEY not in metadata
        and bool(found)
        and (key is None or found == key)
    )


def is_lock(metadata: Mapping[str, Any] | None, namespace: str) -> bool:
    return _in_namespace(metadata, namespace) and LOCK_KEY in metadata  # type: ignore[operator]


def is_journal(metadata: Mapping[str, Any] | None, namespace: str) -> bool:
    return (
        _in_namespace(metadata, namespace)
        and JOURNAL_KEY in metadata  # type: ignore[operator]
        and LOCK_KEY not in metadata  # type: ignore[operator]
    )


# -- what apply writes -----------------------------------------------------------------------


def marker_metadata(namespace: str) -> dict[str, str]:
    """The marker every object of ours carries (managed objects, locks, journal pages)."""
    return {MANAGED_BY_KEY: MANAGED_BY_VALUE, NAMESPACE_KEY: namespace}


def managed_metadata(namespace: str, key: str, sha256: str) -> dict[str, str]:
    """The reserved metadata of a managed assistant or vector store (file entries aside)."""
    return {**marker_metadata(namespace), KEY_KEY: key, SHA_KEY: sha256}


def sha256_json(value: Any) -> str:
    """The sha256 of a value's canonical JSON form (sorted keys, no spaces, UTF-8)."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def assistant_spec_sha256(
    fields: Mapping[str, Any],
    user_metadata: Mapping[str, str],
    code_interpreter_files: list[str],
    vector_store: str | None,
    code_interpreter_names: Mapping[str, str],
) -> str:
    """The spec hash of an assistant: everything apply writes on the assistant itself.

    Vector store *contents* are not part of it, so a changed document updates the
    store, not every assistant that uses it.
    """
    spec: dict[str, Any] = {
        "fields": dict(fields),
        "metadata": dict(user_metadata),
        "code_interpreter_files": list(code_interpreter_files),
        "vector_store": vector_store,
    }
    if code_interpreter_files:
        # A file's name is what the sandbox shows: renaming one changes the assistant.
        spec["code_interpreter_names"] = [
            code_interpreter_names.get(s) for s in code_interpreter_files
        ]
    return sha256_json(spec)


def vector_store_spec_sha256(file_shas: list[str], chunking_strategy: Any) -> str:
    """The spec hash of a vector store: its files' contents and its chunking."""
    return sha256_json({"files": sorted(file_shas), "chunking_strategy": chunking_strategy})
