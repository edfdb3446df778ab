"""How the reconciler knows which files are its own, and what they hold.

Ownership lives on the server (no local state):

- assistants and vector stores carry the reserved ``metadata`` keys of
  :mod:`orchestrator.ownership` (managed-by marker, namespace, logical key, spec sha256);
- files are uploaded under their real names (what citations, ``file_citation`` lookups
  and the code interpreter's ``/mnt/data`` show). The Files API has no metadata, so a
  file's content identity is kept by the managed objects that use it:

  - a file in a managed vector store carries its full sha256 in the vector-store file
    ``attributes`` (``orchestrator-sha256``), where file search filters can use it too;
  - a managed assistant's ``orchestrator-files`` metadata holds one *file entry* per
    code-interpreter file, and a managed vector store holds the same entries for its
    files (``orchestrator-files``, ``orchestrator-files-1``, ...). An entry is
    ``<8 hex of sha256(file id)><12 hex of the content sha256>``; entries are
    space-separated. Entries are bound to file ids, not to positions in ``file_ids``,
    so a hand edit of an assistant's files can never make us mistake one file's content
    for another's; 20 code-interpreter files take 419 of the 512 characters a value holds.
    Entries also name files that were detached by hand: they stay known as ours.

  A file is ours when a managed object of the namespace references it or lists it in its
  entries. An upload that no object references yet (an apply killed between upload and
  attach) is covered by the write-ahead journal (:mod:`orchestrator.reconcile.journal`).
- Files uploaded by earlier versions carry ``<sha256[:16]>-<ns tag>--<name>`` names; they
  are recognised as ours (*legacy*) and replaced by uploads under the real name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.ownership import FILES_KEY, MANAGED_BY_VALUE

TAG_LEN = 8  # hex of sha256(file id) in a file entry
SHA_PREFIX_LEN = 12  # hex of the content sha256 in a file entry
ENTRY_LEN = TAG_LEN + SHA_PREFIX_LEN
METADATA_VALUE_MAX = 512
# A managed vector store's metadata: 16 keys, 4 of them the managed marker, namespace,
# key and spec hash; the rest may hold file entries (24 a key: 288 files).
STORE_FILES_KEYS = 12

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_RE = re.compile(rf"^[0-9a-f]{{{ENTRY_LEN}}}$")
_LEGACY_NAME_RE = re.compile(r"^(?P<sha>[0-9a-f]{16})-(?P<tag>[0-9a-f]{8})--(?P<name>.+)$", re.S)


def valid_sha256(value: Any) -> str | None:
    return value if isinstance(value, str) and _SHA256_RE.match(value) else None


# -- file entries ---------------------------------------------------------------------------


def file_tag(file_id: str) -> str:
    """A fixed-width tag of a file id (ids differ in form between servers)."""
    return hashlib.sha256(file_id.encode("utf-8")).hexdigest()[:TAG_LEN]


def file_entries(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """``(file id, content sha256)`` pairs as entries, sorted (so they compare as text)."""
    return sorted({file_tag(fid) + sha[:SHA_PREFIX_LEN] for fid, sha in pairs})


def files_metadata(pairs: Iterable[tuple[str, str]], max_keys: int = 1) -> dict[str, str]:
    """The file-entry metadata keys for these files: ``orchestrator-files``, ``-1``, ...

    Entries that do not fit in ``max_keys`` values are left out (a store of more than 288
    files): those files are still known by their attributes while attached.
    """
    per_value = (METADATA_VALUE_MAX + 1) // (ENTRY_LEN + 1)
    entries = file_entries(pairs)[: per_value * max_keys]
    out: dict[str, str] = {}
    for i in range(0, len(entries), per_value):
        n = i // per_value
        out[FILES_KEY if n == 0 else f"{FILES_KEY}-{n}"] = " ".join(entries[i : i + per_value])
    return out


def is_files_key(key: str) -> bool:
    return key == FILES_KEY or (
        key.startswith(f"{FILES_KEY}-") and key[len(FILES_KEY) + 1 :].isdigit()
    )


def read_file_entries(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """file tag -> content sha256 prefix, from the file-entry keys (malformed parts ignored)."""
    out: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not is_files_key(key) or not isinstance(value, str):
            continue
        for entry in value.split():
            if _ENTRY_RE.match(entry):
                out[entry[:TAG_LEN]] = entry[TAG_LEN:]
    return out


def without_file_entries(metadata: Mapping[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (metadata or {}).items() if not is_files_key(k)}


# -- names of earlier versions -----------------------------------------------------------------


def legacy_namespace_tag(namespace: str) -> str:
    """The namespace tag that earlier versions put into uploaded file names."""
    return hashlib.sha256(f"{MANAGED_BY_VALUE}:{namespace}".encode()).hexdigest()[:8]


def parse_legacy_filename(filename: str, namespace: str) -> tuple[str, str] | None:
    """``(sha256 prefix, original name)`` of a file an earlier version uploaded in ``namespace``."""
    m = _LEGACY_NAME_RE.match(filename or "")
    if not m or m["tag"] != legacy_namespace_tag(namespace):
        return None
    return m["sha"], m["name"]


def display_filename(filename: str) -> str:
    """The name to show for a file: the real one, also for uploads of earlier versions."""
    m = _LEGACY_NAME_RE.match(filename or "")
    return m["name"] if m else filename
