"""Server listings as a finished ``apply`` leaves them, for the planner's unit tests.

:func:`converged` turns a desired state into the JSON the list requests would return
after an apply of it: managed assistants and vector stores with the reserved metadata
and spec hashes of :mod:`orchestrator.ownership`, file entries and content attributes of
:mod:`orchestrator.reconcile.identity`, and the chunking the server reports. Only the
product's own functions write ownership: the tests then edit these listings as a person
or another tool would edit the server. That the planner finds nothing to do on them is
itself a test (``test_make_plan.py``), and the integration tests prove a real apply then
plans no change.
"""

from __future__ import annotations

import copy
from typing import Any

from orchestrator.ownership import FILE_SHA_ATTRIBUTE, managed_metadata
from orchestrator.reconcile.actual import Listings
from orchestrator.reconcile.desired import DesiredState
from orchestrator.reconcile.identity import STORE_FILES_KEYS, files_metadata
from orchestrator.reconcile.normalise import expected_chunking


def file_id(sha: str) -> str:
    return f"file-{sha[:10]}"


def store_id(key: str) -> str:
    return f"vs_{key}"


def assistant_id(key: str) -> str:
    return f"asst_{key}"


def converged(desired: DesiredState, *, created_at: int = 1_700_000_000) -> Listings:
    ns = desired.namespace
    files = [
        {
            "id": file_id(sha),
            "object": "file",
            "bytes": f.size,
            "created_at": created_at,
            "filename": f.name,
            "purpose": "assistants",
        }
        for sha, f in sorted(desired.files.items())
    ]
    stores: list[dict[str, Any]] = []
    store_files: dict[str, list[dict[str, Any]]] = {}
    for key, vs in sorted(desired.vector_stores.items()):
        pairs = [(file_id(sha), sha) for sha in vs.file_shas]
        stores.append(
            {
                "id": store_id(key),
                "object": "vector_store",
                "name": vs.name,
                "created_at": created_at,
                "status": "completed",
                "metadata": {
                    **managed_metadata(ns, key, vs.sha256),
                    **files_metadata(pairs, STORE_FILES_KEYS),
                },
            }
        )
        store_files[store_id(key)] = [
            {
                "id": fid,
                "object": "vector_store.file",
                "status": "completed",
                "attributes": {FILE_SHA_ATTRIBUTE: sha},
                "chunking_strategy": copy.deepcopy(expected_chunking(vs.chunking_strategy)),
                "last_error": None,
            }
            for fid, sha in pairs
        ]
    assistants = []
    for key, a in sorted(desired.assistants.items()):
        ci = [(file_id(sha), sha) for sha in a.code_interpreter_files]
        raw: dict[str, Any] = {
            "id": assistant_id(key),
            "object": "assistant",
            "created_at": created_at,
            **{k: copy.deepcopy(v) for k, v in a.fields.items() if v is not None},
            "metadata": {
                **a.user_metadata,
                **managed_metadata(ns, key, a.sha256),
                **files_metadata(ci),
            },
            "tool_resources": {
                "code_interpreter": {"file_ids": [fid for fid, _ in ci]},
                "file_search": {
                    "vector_store_ids": [store_id(a.vector_store)] if a.vector_store else []
                },
            },
        }
        assistants.append(raw)
    return Listings(
        assistants=assistants, vector_stores=stores, files=files, store_files=store_files
    )
