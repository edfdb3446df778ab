"""The planner stays linear in the number of objects: counted, not timed.

A plan of N assistants, each with its own vector store, must walk the server's store
listing a fixed number of times (building the same map per assistant made 4,000
assistants take 16 s) and hash each desired object once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator import ownership
from orchestrator.project.specs import (
    AssistantSpec,
    FileRef,
    Location,
    Project,
    ProjectConfig,
    ToolSpec,
    VectorStoreSpec,
)
from orchestrator.reconcile import desired as desired_module
from orchestrator.reconcile.actual import actual_from_listings
from orchestrator.reconcile.desired import desired_state
from orchestrator.reconcile.plan import PlanOptions
from orchestrator.reconcile.planner import make_plan
from tests.support.server_state import converged

ROOT = Path("/project")


def project(n: int) -> Project:
    specs = []
    for i in range(n):
        data = f"document {i}\n".encode()
        ref = FileRef(
            path=ROOT / f"docs/{i}.md",
            rel=f"docs/{i}.md",
            sha256=hashlib.sha256(data).hexdigest(),
            content=data,
        )
        specs.append(
            AssistantSpec(
                key=f"a{i}",
                source=Location(ROOT / "assistants" / f"a{i}.yaml"),
                model="gpt-4o",
                name=f"Assistant {i}",
                instructions="Be brief.",
                tools=[ToolSpec(type="file_search")],
                vector_store=VectorStoreSpec(f"a{i}", [ref], None),
            )
        )
    return Project(config=ProjectConfig(root=ROOT), assistants=specs)


class CountedList(list):  # type: ignore[type-arg]
    """A list that counts how often it is walked from start to end."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        CountedList.walks += 1
        return super().__iter__()


def counts(n: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    hashed = 0
    real = ownership.assistant_spec_sha256

    def counting(*args: Any, **kwargs: Any) -> str:
        nonlocal hashed
        hashed += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(desired_module, "assistant_spec_sha256", counting)
    desired = desired_state(project(n), "scale")
    actual = actual_from_listings("scale", converged(desired))
    actual.vector_stores = CountedList(actual.vector_stores)
    CountedList.walks = 0
    plan = make_plan(desired, actual, PlanOptions())
    assert [c.action for c in plan.changes] == ["noop"] * (3 * n)
    return CountedList.walks, hashed


def test_the_store_listing_is_walked_a_fixed_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small, _ = counts(5, monkeypatch)
    large, _ = counts(50, monkeypatch)
    assert large == small


def test_each_desired_assistant_is_hashed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _, hashed = counts(20, monkeypatch)
    # converged() writes the hash the product computes: that is one read per assistant.
    assert hashed == 20
