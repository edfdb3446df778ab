"""Fixtures of the code interpreter sandbox tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.server.tools.code_interpreter import probe_isolation


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    """A thread's working directory, where the server would put it."""
    return tmp_path / "sandbox" / "thread_test"


@pytest.fixture(scope="module")
def namespaces() -> None:
    """Skips a test that needs one of the namespace modes where only audit-hook works."""
    if probe_isolation().mode == "audit-hook":
        pytest.skip(f"no namespaces here: {probe_isolation().detail}")
