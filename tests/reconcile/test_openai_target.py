"""Reconcile on `api: openai` against today's OpenAI (the `today` fixture: the Assistants
API answers 404, and the fixture fails the test if anything called it).

Files and vector stores as on the Assistants target; assistants with `agent: true` as
Managed Agents; an assistant with code-interpreter files gets a file record; the rest
have nothing on the server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from orchestrator.ownership import KEY_KEY, RECORD_KEY, is_managed
from tests.support.proxy import FaultProxy
from tests.support.reconcile import FUNCTION, SCORES_CSV, Proj


@pytest.fixture
def oproj(tmp_path: Path, today: FaultProxy) -> Iterator[Proj]:
    p = Proj(tmp_path / "project", f"o-{uuid.uuid4().hex[:10]}", today)
    with (p.root / "orchestrator.yaml").open("a", encoding="utf-8") as f:
        f.write("target:\n  api: openai\n")
    yield p


def agents(direct: openai.OpenAI, ns: str) -> dict[str, Any]:
    """The namespace's managed agents by key (none twice)."""
    found: dict[str, Any] = {}
    for a in direct.beta.agents.list(limit=100):
        if is_managed(a.metadata, ns):
            key = a.metadata[KEY_KEY]
            assert key not in found, f"two agents with key {key}"
            found[key] = a
    return found


def records(direct: openai.OpenAI, ns: str) -> dict[str, Any]:
    return {
        v.metadata[KEY_KEY]: v
        for v in direct.vector_stores.list(limit=100)
        if RECORD_KEY in (v.metadata or {}) and v.metadata.get("orchestrator-namespace") == ns
    }


def write_project(p: Proj) -> None:
    p.write("assistants/functions/lookup_grade.json", json.dumps(FUNCTION, indent=2))
    p.write("assistants/data/scores.csv", SCORES_CSV)
    p.write("assistants/docs/algebra.md", "# Algebra\nA variable stands for a number.\n")
    p.write(
        "assistants/quiz.yaml",
        f"""
        kind: Assistant
        name: {p.name("quiz")}
        agent: true
        instructions: Ask one question at a time.
        temperature: 0.3
        reasoning_effort: low
        tools:
          - function: functions/lookup_grade.json
        metadata:
          team: edu
        """,
    )
    p.write(
        "assistants/plain.yaml",
        f"""
        kind: Assistant
        name: {p.name("plain")}
        agent: true
        instructions: Be brief.
        """,
    )
    p.write(
        "assistants/tutor.yaml",
        f"""
        kind: Assistant
        name: {p.name("tutor")}
        instructions: Use the code interpreter.
        tools: [code_interpreter]
        files:
          code_interpreter: [data/scores.csv]
        """,
    )
    p.write(
        "assistants/notes.yaml",
        f"""
        kind: Assistant
        name: {p.name("notes")}
        instructions: Answer from the notes.
        tools: [file_search]
        files:
          file_search: [docs/*.md]
        """,
    )


def test_apply_creates_files_store_agents_and_a_second_apply_writes_nothing(
    oproj: Proj, direct: openai.OpenAI, today: FaultProxy
) -> None:
    write_project(oproj)
    plan = oproj.plan_json()
    assert "assistant 'quiz': its agent has no temperature" in " ".join(plan["warnings"])
    r = oproj.ok("apply", "--yes")
    assert "Apply complete" in r.stdout

    made = agents(direct, oproj.ns)
    assert sorted(made) == ["plain", "quiz"]
    quiz = made["quiz"]
    assert quiz.name == oproj.name("quiz") and quiz.instructions == "Ask one question at a time."
    assert quiz.reasoning.effort == "low" and quiz.metadata["team"] == "edu"
    assert [(t.type, t.name) for t in quiz.tools] == [("function", "lookup_grade")]
    assert quiz.tools[0].parameters == FUNCTION["parameters"]
    # The code-interpreter file is recorded; the file-search store holds the notes.
    record = records(direct, oproj.ns)["tutor"]
    assert direct.vector_stores.files.list(record.id).data == []
    stores = [v for v in direct.vector_stores.list(limit=100) if is_managed(v.metadata, oproj.ns)]
    assert [v.metadata[KEY_KEY] for v in stores] == ["notes"]
    ci_ids = record.metadata["orchestrator-record-ids"].split()
    assert direct.files.retrieve(ci_ids[0]).filename == "scores.csv"

    # The lock file: the agents, and a Responses profile per assistant with resolved ids.
    lock = oproj.lockfile()
    assert lock["format_version"] == 2 and lock["api"] == "openai"
    assert {k: v["id"] for k, v in lock["assistants"].items()} == {
        "plain": made["plain"].id,
        "quiz": quiz.id,
    }
    profiles = lock["profiles"]
    assert sorted(profiles) == ["notes", "plain", "quiz", "tutor"]
    assert profiles["quiz"] == {
        "agent_id": quiz.id,
        "request": {
            "model": "gpt-4o",
            "instructions": "Ask one question at a time.",
            "tools": [{"type": "function", **FUNCTION, "strict": False}],
            "temperature": 0.3,
            "reasoning": {"effort": "low"},
        },
    }
    assert profiles["tutor"]["agent_id"] is None
    assert profiles["tutor"]["request"]["tools"] == [
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ci_ids}}
    ]
    assert profiles["notes"]["request"]["tools"] == [
        {"type": "file_search", "vector_store_ids": [stores[0].id]}
    ]

    today.reset()
    again = oproj.ok("apply", "--yes", "--env")
    assert "No changes" in again.stderr
    assert today.writes() == []
    assert not any("/assistants" in r.path or "/threads" in r.path for r in today.log)
    assert oproj.lockfile() == lock
    # Stores and file records are one collection: one plan lists it once.
    assert [r.path.split("?")[0] for r in today.log].count("/v1/vector_stores") == 1
    # What an app addresses by id on this API: the agents, and the stores to search.
    assert again.stdout.splitlines() == [
        f"PLAIN_AGENT_ID={made['plain'].id}",
        f"QUIZ_AGENT_ID={quiz.id}",
        f"NOTES_VECTOR_STORE_ID={stores[0].id}",
    ]


def test_a_changed_instruction_is_one_agent_update(
    oproj: Proj, direct: openai.OpenAI, today: FaultProxy
) -> None:
    write_project(oproj)
    oproj.ok("apply", "--yes")
    quiz = agents(direct, oproj.ns)["quiz"]
    text = (oproj.root / "assistants/quiz.yaml").read_text(encoding="utf-8")
    oproj.write("assistants/quiz.yaml", text.replace("one question", "two questions"))
    today.reset()
    oproj.ok("apply", "--yes")
    assert today.object_writes() == [("POST", f"/v1/agents/{quiz.id}")]
    sent = json.loads(next(r.body for r in today.log if r.path == f"/v1/agents/{quiz.id}"))
    # Partial: the instruction and our metadata (its spec hash), nothing else.
    assert sorted(sent) == ["instructions", "metadata"]
    after = direct.beta.agents.retrieve(quiz.id)
    assert after.instructions == "Ask two questions at a time."
    assert after.tools == quiz.tools and after.created_at == quiz.created_at


def test_prune_deletes_exactly_the_removed_agent(
    oproj: Proj, direct: openai.OpenAI, today: FaultProxy
) -> None:
    write_project(oproj)
    oproj.ok("apply", "--yes")
    plain = agents(direct, oproj.ns)["plain"]
    (oproj.root / "assistants/plain.yaml").unlink()
    kept = oproj.ok("apply", "--yes")
    assert "--prune" in kept.stdout and "plain" in agents(direct, oproj.ns)
    today.reset()
    oproj.ok("apply", "--yes", "--prune")
    assert today.object_writes() == [("DELETE", f"/v1/agents/{plain.id}")]
    assert sorted(agents(direct, oproj.ns)) == ["quiz"]


def test_an_unmanaged_agent_with_the_same_name_is_never_touched(
    oproj: Proj, direct: openai.OpenAI, today: FaultProxy
) -> None:
    write_project(oproj)
    theirs = direct.beta.agents.create(
        model="gpt-5", name=oproj.name("quiz"), instructions="Someone else's."
    )
    r = oproj.cli("apply", "--yes", "--prune")
    assert r.exit_code != 0
    assert f"an unmanaged assistant named {oproj.name('quiz')!r} ({theirs.id}) exists" in r.output
    assert direct.beta.agents.retrieve(theirs.id) == theirs
    assert not [w for w in today.writes() if theirs.id in w.path]
    direct.beta.agents.delete(theirs.id)


def test_export_of_hand_made_agents_then_adopt_leaves_no_changes(
    oproj: Proj, direct: openai.OpenAI, today: FaultProxy
) -> None:
    name = oproj.name("helper")
    fn = {**FUNCTION, "type": "function"}
    made = direct.beta.agents.create(
        model="gpt-5",
        name=name,
        instructions="Line one.\nLine two.",
        tools=[fn],  # type: ignore[list-item]
        reasoning={"effort": "high"},
        text={"format": {"type": "json_schema", "schema": {"type": "object"}}},
        metadata={"owner": "ops"},
    )
    try:
        oproj.ok("export", made.id)
        (exported,) = (oproj.root / "assistants" / "imported").glob("*.yaml")
        text = exported.read_text(encoding="utf-8")
        assert "agent: true" in text and "reasoning_effort: high" in text
        assert f"adopt:\n  id: {made.id}\n" in text
        applied = oproj.ok("apply", "--yes", "--adopt")
        assert "adopt" in applied.stdout
        after = direct.beta.agents.retrieve(made.id)
        assert is_managed(after.metadata, oproj.ns) and after.metadata["owner"] == "ops"
        assert after.instructions == made.instructions and after.tools == made.tools
        plan = oproj.ok("plan")
        assert "No changes" in plan.stdout
    finally:
        direct.beta.agents.delete(made.id)


def test_a_changed_code_interpreter_file_updates_its_record(
    oproj: Proj, direct: openai.OpenAI, today: FaultProxy
) -> None:
    write_project(oproj)
    oproj.ok("apply", "--yes", "--api", "openai")
    record = records(direct, oproj.ns)["tutor"]
    (old_id,) = record.metadata["orchestrator-record-ids"].split()
    oproj.write("assistants/data/scores.csv", SCORES_CSV + b"cy,8\n")
    today.reset()
    oproj.ok("apply", "--yes")
    writes = today.object_writes()
    assert ("POST", "/v1/files") in writes and ("DELETE", f"/v1/files/{old_id}") in writes
    assert ("POST", f"/v1/vector_stores/{record.id}") in writes
    assert not [w for w in writes if "/agents" in w[1]]
    (new_id,) = records(direct, oproj.ns)["tutor"].metadata["orchestrator-record-ids"].split()
    assert new_id != old_id and direct.files.content(new_id).content.endswith(b"cy,8\n")
    today.reset()
    assert "No changes" in oproj.ok("apply", "--yes").stdout
    assert today.writes() == []


def test_destroy_removes_agents_records_stores_and_files(
    oproj: Proj, direct: openai.OpenAI, today: FaultProxy
) -> None:
    write_project(oproj)
    oproj.ok("apply", "--yes")
    oproj.ok("destroy", "--yes")
    assert agents(direct, oproj.ns) == {} and records(direct, oproj.ns) == {}
    assert not [v for v in direct.vector_stores.list(limit=100) if is_managed(v.metadata, oproj.ns)]
