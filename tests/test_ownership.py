"""The one ownership rule (orchestrator.ownership), shared by the reconciler and the runner."""

from __future__ import annotations

import pytest

from orchestrator.ownership import (
    JOURNAL_KEY,
    KEY_KEY,
    LOCK_KEY,
    MANAGED_BY_KEY,
    MANAGED_BY_VALUE,
    NAMESPACE_KEY,
    SHA_KEY,
    is_journal,
    is_lock,
    is_managed,
    managed_metadata,
)

SHA = "a" * 64
MANAGED = managed_metadata("default", "tutor", SHA)


def test_managed_metadata_is_the_marker_namespace_key_and_hash() -> None:
    assert MANAGED == {
        MANAGED_BY_KEY: MANAGED_BY_VALUE,
        NAMESPACE_KEY: "default",
        KEY_KEY: "tutor",
        SHA_KEY: SHA,
    }


@pytest.mark.parametrize(
    ("metadata", "namespace", "key", "expected"),
    [
        (MANAGED, "default", None, True),
        (MANAGED, "default", "tutor", True),
        (MANAGED, "default", "quiz", False),
        (MANAGED, "staging", None, False),
        ({**MANAGED, "team": "x"}, "default", "tutor", True),
        # No namespace key: in no namespace, not even "default" (the runner once assumed it).
        ({k: v for k, v in MANAGED.items() if k != NAMESPACE_KEY}, "default", None, False),
        ({k: v for k, v in MANAGED.items() if k != KEY_KEY}, "default", None, False),
        ({k: v for k, v in MANAGED.items() if k != MANAGED_BY_KEY}, "default", None, False),
        ({**MANAGED, MANAGED_BY_KEY: "someone-else"}, "default", None, False),
        ({**MANAGED, LOCK_KEY: "token"}, "default", None, False),
        ({**MANAGED, JOURNAL_KEY: "token:0"}, "default", None, False),
        ({}, "default", None, False),
        (None, "default", None, False),
    ],
)
def test_is_managed(
    metadata: dict[str, str] | None, namespace: str, key: str | None, expected: bool
) -> None:
    assert is_managed(metadata, namespace, key) is expected


def test_locks_and_journal_pages_are_told_apart() -> None:
    marker = {MANAGED_BY_KEY: MANAGED_BY_VALUE, NAMESPACE_KEY: "default"}
    lock = {**marker, LOCK_KEY: "token"}
    page = {**marker, JOURNAL_KEY: "token:0"}
    assert (is_lock(lock, "default"), is_journal(lock, "default")) == (True, False)
    assert (is_lock(page, "default"), is_journal(page, "default")) == (False, True)
    assert not is_lock(lock, "staging") and not is_journal(page, "staging")
    assert not is_lock({LOCK_KEY: "token"}, "default")
