"""The reconciler's pure pieces: naming, normalisation, diffs, plan and lock-file formats."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import openai
import pytest

from orchestrator.ownership import check_namespace
from orchestrator.project.specs import (
    AssistantSpec,
    FileRef,
    Location,
    Project,
    ProjectConfig,
    VectorStoreSpec,
)
from orchestrator.reconcile.api import Api
from orchestrator.reconcile.desired import desired_state
from orchestrator.reconcile.errors import DesiredStateError
from orchestrator.reconcile.fielddiff import text_diff, tools_diff
from orchestrator.reconcile.identity import (
    display_filename,
    file_tag,
    files_metadata,
    legacy_namespace_tag,
    parse_legacy_filename,
    read_file_entries,
)
from orchestrator.reconcile.journal import JournalPage, PendingUpload, page_metadata
from orchestrator.reconcile.lockfile import env_var_name, lockfile_path, update_env_file
from orchestrator.reconcile.normalise import normalise_fields, normalise_tool
from orchestrator.reconcile.plan import AssistantOp, Change, FileOp, Plan
from orchestrator.reconcile.planfile import digest, plan_from_json, plan_to_json
from orchestrator.reconcile.target import AssistantObjects, FileStore, ReconcileTarget


def test_file_entries_bind_content_to_file_ids() -> None:
    pairs = [(f"file-{i:03d}", hashlib.sha256(str(i).encode()).hexdigest()) for i in range(20)]
    meta = files_metadata(pairs)
    # 20 code-interpreter files fit in one metadata value (the API's limit is 512).
    assert list(meta) == ["orchestrator-files"] and len(meta["orchestrator-files"]) <= 512
    entries = read_file_entries(meta)
    assert entries == {file_tag(fid): sha[:12] for fid, sha in pairs}
    # Bound to ids, not positions: reordering or dropping files keeps the others right.
    assert read_file_entries(files_metadata(reversed(pairs[5:]))) == {
        file_tag(fid): sha[:12] for fid, sha in pairs[5:]
    }
    assert files_metadata([]) == {}
    # A store's entries take several keys; what does not fit in 12 is left out.
    many = [(f"file-{i}", hashlib.sha256(str(i).encode()).hexdigest()) for i in range(300)]
    store = files_metadata(many, 12)
    assert len(store) == 12 and all(len(v) <= 512 for v in store.values())
    assert store.keys() >= {"orchestrator-files", "orchestrator-files-11"}
    assert len(read_file_entries(store)) == 288
    # Garbage in the values (a hand edit) is ignored, not misread.
    assert read_file_entries({"orchestrator-files": "xyz " + "0" * 19, "team": "a"}) == {}


def test_names_of_earlier_versions_are_recognised() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    name = f"{sha[:16]}-{legacy_namespace_tag('prod')}--report 2024.pdf"
    assert parse_legacy_filename(name, "prod") == (sha[:16], "report 2024.pdf")
    assert parse_legacy_filename(name, "dev") is None  # another namespace's file
    assert parse_legacy_filename("report.pdf", "prod") is None
    assert display_filename(name) == "report 2024.pdf"
    assert display_filename("report.pdf") == "report.pdf"
    assert check_namespace("pr-123.preview") is None
    assert "not valid" in (check_namespace("a b") or "")


def test_journal_pages_round_trip_and_split() -> None:
    uploads = [
        PendingUpload.of(hashlib.sha256(str(i).encode()).hexdigest(), 1000 + i, f"notes-{i}.md")
        for i in range(400)
    ]
    deletes = [f"file-{i:024d}" for i in range(100)]
    pages = page_metadata("dev", "t0ken", uploads, deletes)
    assert len(pages) > 1
    for meta in pages:
        assert len(meta) <= 16 and all(len(k) <= 64 and len(v) <= 512 for k, v in meta.items())
    read = [
        JournalPage.from_raw({"id": f"vs_{n}", "created_at": 5, "metadata": meta})
        for n, meta in enumerate(pages)
    ]
    assert {p.token for p in read} == {"t0ken"}
    assert [u for p in read for u in p.uploads] == uploads
    assert [d for p in read for d in p.deletes] == deletes
    assert page_metadata("dev", "t0ken", [], []) == []
    u = uploads[0]
    assert u.may_be({"bytes": 1000, "filename": "notes-0.md"})
    assert not u.may_be({"bytes": 1000, "filename": "notes-1.md"})
    assert not u.may_be({"bytes": 999, "filename": "notes-0.md"})


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
                file=FileOp(sha256="a" * 64, size=3, upload_name="a.md", paths=["docs/a.md"]),
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
    data = plan_to_json(plan)
    again = plan_from_json(data)
    assert plan_to_json(again) == data
    assert digest(again) == digest(plan)
    assert data["summary"]["text"] == "Plan: 1 to add, 1 to change, 0 to destroy."
    with pytest.raises(ValueError, match="format_version 1 is not supported"):
        plan_from_json({**data, "format_version": 1})


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


def test_code_interpreter_files_are_named_as_the_code_interpreter_uses_them(
    tmp_path: Path,
) -> None:
    loc = Location(tmp_path / "a.yaml")
    doc = _ref(tmp_path, "docs/a-table.csv", b"x,y\n")
    data = _ref(tmp_path, "data/table.csv", b"x,y\n")  # the same bytes under another name
    a = AssistantSpec(
        key="a",
        source=loc,
        model="m",
        vector_store=VectorStoreSpec(key="a", files=[doc]),
        code_interpreter_files=[data],
    )
    state = desired_state(Project(config=ProjectConfig(root=tmp_path), assistants=[a]), "dev")
    (f,) = state.files.values()
    assert f.name == "table.csv"  # the sandbox shows files by name; citations do not care
    assert state.assistants["a"].code_interpreter_names == {data.sha256: "table.csv"}
    assert state.warnings == []

    other = _ref(tmp_path, "more/table.csv", b"other\n")
    a.code_interpreter_files = [data, other]
    with pytest.raises(DesiredStateError, match=r"2 different files named 'table\.csv'"):
        desired_state(Project(config=ProjectConfig(root=tmp_path), assistants=[a]), "dev")

    b = AssistantSpec(key="b", source=loc, model="m", code_interpreter_files=[doc])
    a.code_interpreter_files = [data]
    state = desired_state(Project(config=ProjectConfig(root=tmp_path), assistants=[a, b]), "dev")
    assert state.warnings == [
        "docs/a-table.csv has the same content as data/table.csv: it is uploaded once, and "
        "the code interpreter shows it as 'table.csv'"
    ]


def test_the_assistants_v2_api_is_a_reconcile_target() -> None:
    # The seam the planner and apply call (orchestrator.reconcile.target); no request is made.
    api = Api(openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="unused"))
    assert isinstance(api, ReconcileTarget)
    for proto in (FileStore, AssistantObjects):
        for name, member in vars(proto).items():
            if name.startswith("_") or not callable(member):
                continue
            # Same parameters, same kinds (keyword-only `what`), as the seam declares.
            want = [(p.name, p.kind) for p in inspect.signature(member).parameters.values()]
            have = [
                (p.name, p.kind) for p in inspect.signature(getattr(Api, name)).parameters.values()
            ]
            assert have == want, name
