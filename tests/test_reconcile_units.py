"""The reconciler's pure pieces: naming, normalisation, diffs, plan and lock-file formats."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from orchestrator.reconcile.desired import desired_state
from orchestrator.reconcile.errors import DesiredStateError
from orchestrator.reconcile.fielddiff import text_diff, tools_diff
from orchestrator.reconcile.identity import (
    check_namespace,
    original_filename,
    parse_upload_filename,
    upload_filename,
)
from orchestrator.reconcile.lockfile import env_var_name, lockfile_path, update_env_file
from orchestrator.reconcile.plan import (
    AssistantOp,
    Change,
    FileOp,
    Plan,
    normalise_fields,
    normalise_tool,
)
from orchestrator.spec.models import (
    AssistantSpec,
    FileRef,
    Location,
    Project,
    ProjectConfig,
    VectorStoreSpec,
)


def test_uploaded_names_carry_hash_and_namespace() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    name = upload_filename("prod", sha, "report 2024.pdf")
    assert name.endswith("--report 2024.pdf") and name.startswith(sha[:16])
    assert parse_upload_filename(name, "prod") == (sha[:16], "report 2024.pdf")
    assert parse_upload_filename(name, "dev") is None  # another namespace's file
    assert parse_upload_filename("report.pdf", "prod") is None
    assert original_filename(name) == "report 2024.pdf"
    assert check_namespace("pr-123.preview") is None
    assert "not valid" in (check_namespace("a b") or "")


def test_tools_compare_equal_whatever_defaults_a_server_fills_in() -> None:
    from_server = {
        "type": "file_search",
        "file_search": {
            "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0}
        },
    }
    assert normalise_tool(from_server) == normalise_tool({"type": "file_search"})
    fn_server = {
        "type": "function",
        "function": {"name": "f", "description": None, "parameters": {}, "strict": False},
    }
    fn_yaml = {"type": "function", "function": {"name": "f"}}
    assert normalise_tool(fn_server) == normalise_tool(fn_yaml)
    a = normalise_fields({"model": "m", "temperature": None, "response_format": None, "tools": []})
    b = normalise_fields({"model": "m", "temperature": 1, "response_format": "auto", "tools": []})
    assert a == b


def test_structural_and_text_diffs_name_what_changed() -> None:
    before = [
        {"type": "code_interpreter"},
        {"type": "function", "function": {"name": "quiz", "parameters": {"type": "object"}}},
    ]
    after = [
        {"type": "function", "function": {"name": "quiz", "parameters": {"type": "array"}}},
        {"type": "file_search"},
    ]
    d = tools_diff("tools", before, after)
    assert d.lines == [
        '- code_interpreter: {"type": "code_interpreter"}',
        '+ file_search: {"type": "file_search"}',
        '~ function:quiz.function.parameters.type: "object" -> "array"',
    ]
    t = text_diff("instructions", "a\nb\n", "a\nc\n", label="x.yaml")
    assert t.lines[:2] == ["--- server", "+++ x.yaml"] and "-b" in t.lines and "+c" in t.lines


def test_plan_json_round_trips() -> None:
    plan = Plan(
        namespace="dev",
        fingerprint="f" * 64,
        changes=[
            Change(
                kind="file",
                action="create",
                key="a" * 64,
                label="docs/a.md",
                file=FileOp(sha256="a" * 64, size=3, upload_name="x--a.md", paths=["docs/a.md"]),
            ),
            Change(
                kind="assistant",
                action="update",
                key="tutor",
                label="tutor",
                id="asst_1",
                drift=True,
                assistant=AssistantOp(
                    fields={"instructions": "hi"},
                    metadata={"k": "v"},
                    code_interpreter_files=["a" * 64],
                    vector_store=None,
                    send_tool_resources=True,
                ),
            ),
        ],
        known_files={"b" * 64: "file-1"},
        desired_files={"a" * 64: ["docs/a.md"]},
    )
    data = plan.to_json()
    again = Plan.from_json(data)
    assert again.to_json() == data
    assert again.digest() == plan.digest()
    assert data["summary"]["text"] == "Plan: 1 to add, 1 to change, 0 to destroy."
    with pytest.raises(ValueError, match="format_version 2 is not supported"):
        Plan.from_json({**data, "format_version": 2})


def test_env_lines_and_lock_file_names(tmp_path: Path) -> None:
    assert env_var_name("math-tutor") == "MATH_TUTOR_ASSISTANT_ID"
    assert env_var_name("quiz.v2") == "QUIZ_V2_ASSISTANT_ID"
    assert env_var_name("1st") == "_1ST_ASSISTANT_ID"
    assert lockfile_path(tmp_path, "default").name == "assistants.lock.json"
    assert lockfile_path(tmp_path, "prod").name == "assistants.prod.lock.json"
    env = tmp_path / ".env"
    env.write_text("OPENAI_BASE_URL=http://x\nMATH_TUTOR_ASSISTANT_ID=old\n")
    update_env_file(env, ["MATH_TUTOR_ASSISTANT_ID=asst_new", "QUIZ_ASSISTANT_ID=asst_q"])
    assert env.read_text() == (
        "OPENAI_BASE_URL=http://x\nMATH_TUTOR_ASSISTANT_ID=asst_new\nQUIZ_ASSISTANT_ID=asst_q\n"
    )


def _ref(root: Path, rel: str, data: bytes) -> FileRef:
    return FileRef(path=root / rel, rel=rel, sha256=hashlib.sha256(data).hexdigest(), content=data)


def test_desired_state_dedupes_content_and_rejects_conflicting_shared_stores(
    tmp_path: Path,
) -> None:
    loc = Location(tmp_path / "a.yaml")
    same1, same2 = _ref(tmp_path, "docs/a.md", b"same"), _ref(tmp_path, "docs/b.md", b"same")
    a = AssistantSpec(
        key="a",
        source=loc,
        model="m",
        vector_store=VectorStoreSpec(key="shared", files=[same1, same2]),
        code_interpreter_files=[same1],
    )
    b = AssistantSpec(
        key="b", source=loc, model="m", vector_store=VectorStoreSpec(key="shared", files=[same2])
    )
    project = Project(config=ProjectConfig(root=tmp_path), assistants=[a, b])
    state = desired_state(project, "dev")
    assert list(state.files) == [same1.sha256]
    assert state.files[same1.sha256].paths == ["docs/a.md", "docs/b.md"]
    assert state.vector_stores["shared"].assistants == ["a", "b"]

    b.vector_store = VectorStoreSpec(key="shared", files=[_ref(tmp_path, "c.md", b"other")])
    with pytest.raises(DesiredStateError, match="shared with assistant 'a'"):
        desired_state(project, "dev")
