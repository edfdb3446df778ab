"""The planner alone: ``make_plan(desired, actual)`` for every kind of change, no server.

Like Terraform's ``context_plan_test``: each case edits the YAML side (a desired state
built by the product's loader types and :func:`desired_state`) and/or the server side
(the listings a finished apply leaves, see :mod:`tests.support.server_state`, read by
the product's :func:`actual_from_listings`) and names every change the plan must hold,
one line each: ``kind action label [fields that differ] (drift)``. No-ops are left out.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.ownership import KEY_KEY, MANAGED_BY_KEY, SHA_KEY
from orchestrator.project.specs import (
    AssistantSpec,
    FileRef,
    FunctionSpec,
    Location,
    Project,
    ProjectConfig,
    ToolSpec,
    VectorStoreSpec,
)
from orchestrator.reconcile.actual import Listings, actual_from_listings
from orchestrator.reconcile.desired import DesiredState, desired_state
from orchestrator.reconcile.errors import ReconcileError
from orchestrator.reconcile.plan import Change, Plan, PlanOptions
from orchestrator.reconcile.planner import make_plan
from tests.support.server_state import assistant_id, converged, file_id, store_id

ROOT = Path("/project")
NS = "unit"
LOOKUP = {
    "name": "lookup",
    "description": "Look a word up.",
    "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
}

SMALL_CHUNKS = {
    "type": "static",
    "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 100},
}

# The YAML side, as plain data the cases edit: assistant key -> its definition.
BASE: dict[str, dict[str, Any]] = {
    "tutor": {
        "name": "Tutor",
        "model": "gpt-4o",
        "instructions": "Be brief.",
        "tools": ["file_search", "code_interpreter", LOOKUP],
        "docs": {"docs/a.md": b"Alpha.\n", "docs/b.md": b"Beta.\n"},
        "chunking": None,
        "ci": {"data/scores.csv": b"student,score\nana,9\n"},
        "metadata": {"team": "math"},
    },
    "quiz": {"name": "Quiz", "model": "gpt-4o-mini", "instructions": "Ask one question."},
}


def _ref(rel: str, data: bytes) -> FileRef:
    return FileRef(path=ROOT / rel, rel=rel, sha256=hashlib.sha256(data).hexdigest(), content=data)


def _tool(t: str | dict[str, Any]) -> ToolSpec:
    if isinstance(t, dict):
        return ToolSpec(type="function", function=FunctionSpec(**t))
    return ToolSpec(type=t)  # type: ignore[arg-type]


def build(defs: dict[str, dict[str, Any]], *, partial: bool = False) -> DesiredState:
    specs = []
    for key, d in defs.items():
        docs = [_ref(rel, data) for rel, data in (d.get("docs") or {}).items()]
        specs.append(
            AssistantSpec(
                key=key,
                source=Location(ROOT / "assistants" / f"{key}.yaml"),
                model=d["model"],
                name=d.get("name"),
                description=d.get("description"),
                instructions=d.get("instructions"),
                tools=[_tool(t) for t in d.get("tools") or []],
                code_interpreter_files=[_ref(r, b) for r, b in (d.get("ci") or {}).items()],
                vector_store=VectorStoreSpec(key, docs, d.get("chunking")) if docs else None,
                metadata=dict(d.get("metadata") or {}),
                temperature=d.get("temperature"),
                top_p=d.get("top_p"),
                response_format=d.get("response_format"),
                reasoning_effort=d.get("reasoning_effort"),
                adopt_id=d.get("adopt_id"),
            )
        )
    project = Project(config=ProjectConfig(root=ROOT), assistants=specs)
    return desired_state(project, NS, partial=partial)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def line(c: Change) -> str:
    text = f"{c.kind} {c.action} {c.label}"
    if c.action in ("update", "adopt") or (c.action == "create" and c.kind != "file"):
        text += f" [{', '.join(d.field for d in c.diffs)}]"
    return text + (" (drift)" if c.drift else "")


def plan_lines(plan: Plan) -> list[str]:
    return sorted(line(c) for c in plan.changes if c.action != "noop")


# -- server-side edits (what a person or another tool does on the server) -----------------


def assistant(listings: Listings, key: str) -> dict[str, Any]:
    (raw,) = [a for a in listings.assistants if a["id"] == assistant_id(key)]
    return raw


def unmanaged(name: str, n: int = 1) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        for i in range(n):
            listings.assistants.append(
                {"id": f"asst_hand_{i}", "object": "assistant", "created_at": 1, "name": name,
                 "model": "gpt-4o", "metadata": {"owner": "someone"}, "tools": []}
            )  # fmt: skip

    return edit


def nameless(assistant_id: str) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        listings.assistants.append(
            {"id": assistant_id, "object": "assistant", "created_at": 1, "name": None,
             "model": "gpt-4o", "metadata": {}, "tools": []}
        )  # fmt: skip

    return edit


def without_managed(key: str) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        listings.assistants.remove(assistant(listings, key))

    return edit


def server_assistant(key: str, **fields: Any) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        assistant(listings, key).update(fields)

    return edit


def duplicate(key: str) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        copy_ = copy.deepcopy(assistant(listings, key))
        copy_.update(id=f"asst_{key}_2", created_at=copy_["created_at"] + 5)
        listings.assistants.append(copy_)

    return edit


def store(**fields: Any) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        (raw,) = listings.vector_stores
        raw.update(fields)

    return edit


def store_file(rel: str, **fields: Any) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        fid = file_id(sha(BASE["tutor"]["docs"][rel]))
        (f,) = [f for f in listings.store_files[store_id("tutor")] if f["id"] == fid]
        f.update(fields)

    return edit


def detach_by_hand(rel: str) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        fid = file_id(sha(BASE["tutor"]["docs"][rel]))
        files = listings.store_files[store_id("tutor")]
        files[:] = [f for f in files if f["id"] != fid]

    return edit


def file_deleted_by_hand(rel: str, data: bytes) -> Callable[[Listings], None]:
    def edit(listings: Listings) -> None:
        listings.files[:] = [f for f in listings.files if f["id"] != file_id(sha(data))]

    return edit


def empty_server(listings: Listings) -> None:
    listings.assistants.clear()
    listings.vector_stores.clear()
    listings.files.clear()
    listings.store_files.clear()


# -- the table ---------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    expected: list[str]
    yaml: Callable[[dict[str, dict[str, Any]]], None] = lambda defs: None
    server: Callable[[Listings], None] = lambda listings: None
    options: PlanOptions = field(default_factory=PlanOptions)


def edit(key: str, **values: Any) -> Callable[[dict[str, dict[str, Any]]], None]:
    def apply(defs: dict[str, dict[str, Any]]) -> None:
        defs[key].update(values)

    return apply


def drop(key: str) -> Callable[[dict[str, dict[str, Any]]], None]:
    return lambda defs: defs.pop(key) and None


def docs(**change: bytes | None) -> Callable[[dict[str, dict[str, Any]]], None]:
    """Edit tutor's file_search documents: ``a_md=b"..."`` sets docs/a.md, None removes."""

    def apply(defs: dict[str, dict[str, Any]]) -> None:
        d = defs["tutor"]["docs"]
        for name, data in change.items():
            rel = "docs/" + name.replace("_", ".")
            if data is None:
                d.pop(rel)
            else:
                d[rel] = data

    return apply


def both(*edits: Callable[[Any], None]) -> Callable[[Any], None]:
    def apply(target: Any) -> None:
        for e in edits:
            e(target)

    return apply


CASES = [
    Case("in sync: nothing to do", []),
    Case(
        "create: everything, on an empty server",
        [
            "assistant create quiz [name, model, instructions]",
            "assistant create tutor [name, model, instructions, tools, code_interpreter.files, "
            "file_search.vector_stores, metadata]",
            "file create data/scores.csv",
            "file create docs/a.md",
            "file create docs/b.md",
            "vector_store create tutor [files]",
        ],
        server=empty_server,
    ),
    Case(
        "create: a new assistant",
        ["assistant create extra [model]"],
        yaml=lambda defs: defs.update(extra={"model": "gpt-4o"}),
    ),
    # -- update, one field at a time
    Case("update: name", ["assistant update quiz [name]"], yaml=edit("quiz", name="Quiz 2")),
    Case("update: model", ["assistant update quiz [model]"], yaml=edit("quiz", model="gpt-4o")),
    Case(
        "update: description",
        ["assistant update quiz [description]"],
        yaml=edit("quiz", description="Quizzes."),
    ),
    Case(
        "update: instructions",
        ["assistant update quiz [instructions]"],
        yaml=edit("quiz", instructions="Ask two questions."),
    ),
    Case(
        "update: tools",
        ["assistant update quiz [tools]"],
        yaml=edit("quiz", tools=[LOOKUP]),
    ),
    Case(
        "update: temperature",
        ["assistant update quiz [temperature]"],
        yaml=edit("quiz", temperature=0.2),
    ),
    Case("update: top_p", ["assistant update quiz [top_p]"], yaml=edit("quiz", top_p=0.5)),
    Case(
        "update: response_format",
        ["assistant update quiz [response_format]"],
        yaml=edit("quiz", response_format={"type": "json_object"}),
    ),
    Case(
        "update: reasoning_effort",
        ["assistant update quiz [reasoning_effort]"],
        yaml=edit("quiz", model="o3-mini", reasoning_effort="low"),
        server=server_assistant("quiz", model="o3-mini"),
    ),
    Case(
        "update: user metadata",
        ["assistant update tutor [metadata]"],
        yaml=edit("tutor", metadata={"team": "science"}),
    ),
    Case(
        "defaults the server fills in are no change",
        [],
        server=server_assistant(
            "quiz", temperature=1.0, top_p=1.0, response_format="auto", description=""
        ),
    ),
    # -- drift: the server object differs from the spec its hash names
    Case(
        "drift: instructions edited on the server",
        ["assistant update tutor [instructions] (drift)"],
        server=server_assistant("tutor", instructions="Edited by hand."),
    ),
    Case(
        "drift: a tool removed on the server",
        ["assistant update tutor [tools] (drift)"],
        server=server_assistant("tutor", tools=[{"type": "file_search"}]),
    ),
    Case(
        "drift: a store file detached on the server",
        ["vector_store update tutor [files] (drift)"],
        server=detach_by_hand("docs/b.md"),
    ),
    # -- delete (prune) and orphans
    Case(
        "orphan: an assistant left the YAML, without --prune",
        ["assistant orphan quiz"],
        yaml=drop("quiz"),
    ),
    Case(
        "delete: an assistant left the YAML, with --prune",
        ["assistant delete quiz"],
        yaml=drop("quiz"),
        options=PlanOptions(prune=True),
    ),
    Case(
        "delete: an assistant with its store and files, with --prune",
        [
            "assistant delete tutor",
            "file delete a.md",
            "file delete b.md",
            "file delete scores.csv",
            "vector_store delete tutor",
        ],
        yaml=drop("tutor"),
        options=PlanOptions(prune=True),
    ),
    Case(
        "orphan: a store and its files are kept without --prune",
        ["assistant orphan tutor", "vector_store orphan tutor"],
        yaml=drop("tutor"),
    ),
    # -- adopt and conflicts
    Case(
        "adopt: an unmanaged assistant of the same name, with --adopt",
        ["assistant adopt quiz [model, instructions, metadata]"],
        server=both(without_managed("quiz"), unmanaged("Quiz")),
        options=PlanOptions(adopt=True),
    ),
    Case(
        "conflict: an unmanaged assistant of the same name, without --adopt",
        ["assistant blocked quiz"],
        server=both(without_managed("quiz"), unmanaged("Quiz")),
    ),
    Case(
        "conflict: two unmanaged assistants of the same name, even with --adopt",
        ["assistant blocked quiz"],
        server=both(without_managed("quiz"), unmanaged("Quiz", n=2)),
        options=PlanOptions(adopt=True),
    ),
    Case(
        "adopt: the one its adopt.id names, among two unmanaged assistants of its name",
        ["assistant adopt quiz [model, instructions, metadata]"],
        yaml=edit("quiz", adopt_id="asst_hand_1"),
        server=both(without_managed("quiz"), unmanaged("Quiz", n=2)),
        options=PlanOptions(adopt=True),
    ),
    Case(
        "adopt: two YAMLs of one name, each by its adopt.id",
        [
            "assistant adopt quiz [model, instructions, metadata]",
            "assistant adopt quiz2 [model, instructions, metadata]",
        ],
        yaml=both(
            edit("quiz", adopt_id="asst_hand_1"),
            lambda defs: defs.update(quiz2={**defs["quiz"], "adopt_id": "asst_hand_0"}),
        ),
        server=both(without_managed("quiz"), unmanaged("Quiz", n=2)),
        options=PlanOptions(adopt=True),
    ),
    Case(
        "adopt: a nameless unmanaged assistant, by its adopt.id",
        ["assistant adopt quiz [name, model, instructions, metadata]"],
        yaml=edit("quiz", adopt_id="asst_nameless"),
        server=both(without_managed("quiz"), nameless("asst_nameless")),
        options=PlanOptions(adopt=True),
    ),
    Case(
        "conflict: an adopt.id without --adopt",
        ["assistant blocked quiz"],
        yaml=edit("quiz", adopt_id="asst_nameless"),
        server=both(without_managed("quiz"), nameless("asst_nameless")),
    ),
    Case(
        "conflict: two YAMLs with one adopt.id",
        ["assistant adopt quiz [model, instructions, metadata]", "assistant blocked quiz2"],
        yaml=both(
            edit("quiz", adopt_id="asst_hand_0"),
            lambda defs: defs.update(quiz2={**defs["quiz"], "name": "Quiz 2"}),
        ),
        server=both(without_managed("quiz"), unmanaged("Quiz")),
        options=PlanOptions(adopt=True),
    ),
    Case(
        "adopt: an adopt.id the server does not have falls back to the name",
        ["assistant adopt quiz [model, instructions, metadata]"],
        yaml=edit("quiz", adopt_id="asst_elsewhere"),
        server=both(without_managed("quiz"), unmanaged("Quiz")),
        options=PlanOptions(adopt=True),
    ),
    Case(
        "create: an adopt.id the server does not have, and no name to match",
        ["assistant create quiz [name, model, instructions]"],
        yaml=edit("quiz", adopt_id="asst_elsewhere"),
        server=without_managed("quiz"),
        options=PlanOptions(adopt=True),
    ),
    Case(
        "conflict: a managed assistant wins over an unmanaged one of the same name",
        [],
        server=unmanaged("Quiz"),
    ),
    Case(
        "duplicate: a second managed copy of a key is deleted",
        ["assistant delete quiz"],
        server=duplicate("quiz"),
    ),
    # -- files
    Case(
        "file add: a new document",
        ["file create docs/c.md", "vector_store update tutor [files]"],
        yaml=docs(c_md=b"Gamma.\n"),
    ),
    Case(
        "file change: a document's content",
        ["file create docs/a.md", "file delete a.md", "vector_store update tutor [files]"],
        yaml=docs(a_md=b"Alpha, revised.\n"),
    ),
    Case(
        "file remove: a document",
        ["file delete b.md", "vector_store update tutor [files]"],
        yaml=docs(b_md=None),
    ),
    Case(
        "file rename: a document moved (same bytes) needs no upload",
        [],
        yaml=both(docs(a_md=None), docs(a2_md=BASE["tutor"]["docs"]["docs/a.md"])),
    ),
    Case(
        "file rename: a code-interpreter file is uploaded under its new name",
        [
            "assistant update tutor [code_interpreter.files]",
            "file create data/grades.csv",
            "file delete scores.csv",
        ],
        yaml=edit("tutor", ci={"data/grades.csv": BASE["tutor"]["ci"]["data/scores.csv"]}),
    ),
    Case(
        "file change: a code-interpreter file's content",
        [
            "assistant update tutor [code_interpreter.files]",
            "file create data/scores.csv",
            "file delete scores.csv",
        ],
        yaml=edit("tutor", ci={"data/scores.csv": b"student,score\nana,10\n"}),
    ),
    Case(
        "file deleted on the server: uploaded again and referenced",
        [
            "assistant update tutor [code_interpreter.files] (drift)",
            "file create data/scores.csv",
        ],
        server=file_deleted_by_hand("data/scores.csv", BASE["tutor"]["ci"]["data/scores.csv"]),
    ),
    # -- vector stores
    Case(
        "store replace: chunking changed",
        ["assistant update tutor [file_search.vector_stores]", "vector_store replace tutor"],
        yaml=edit("tutor", chunking=SMALL_CHUNKS),
    ),
    Case(
        "store replace: the store expired",
        ["assistant update tutor [file_search.vector_stores]", "vector_store replace tutor"],
        server=store(status="expired"),
    ),
    Case(
        "store update: a file whose indexing failed is attached again",
        ["vector_store update tutor [files]"],
        server=store_file("docs/a.md", status="failed", last_error={"message": "bad"}),
    ),
    Case(
        "store update: its name edited on the server",
        ["vector_store update tutor [name] (drift)"],
        server=store(name="renamed by hand"),
    ),
    Case(
        "store update: a content attribute removed on the server",
        ["vector_store update tutor [attributes] (drift)"],
        server=store_file("docs/a.md", attributes={}),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_make_plan(case: Case) -> None:
    defs = copy.deepcopy(BASE)
    listings = converged(build(defs))
    case.yaml(defs)
    case.server(listings)
    plan = make_plan(build(defs), actual_from_listings(NS, listings), case.options)
    assert plan_lines(plan) == sorted(case.expected)
    assert plan.has_changes == any(c.writes for c in plan.changes)


def test_a_converged_server_plans_nothing_and_names_every_object() -> None:
    desired = build(BASE)
    plan = make_plan(desired, actual_from_listings(NS, converged(desired)))
    assert not plan.has_changes and plan.warnings == []
    assert sorted((c.kind, c.label, c.id) for c in plan.changes) == sorted(
        [
            ("assistant", "quiz", assistant_id("quiz")),
            ("assistant", "tutor", assistant_id("tutor")),
            ("vector_store", "tutor", store_id("tutor")),
            *(
                ("file", rel, file_id(sha(data)))
                for rel, data in {**BASE["tutor"]["docs"], **BASE["tutor"]["ci"]}.items()
            ),
        ]
    )


def test_an_update_sends_only_the_fields_that_differ() -> None:
    defs = copy.deepcopy(BASE)
    listings = converged(build(defs))
    defs["quiz"]["instructions"] = "Ask two questions."
    desired = build(defs)
    (change,) = [
        c for c in make_plan(desired, actual_from_listings(NS, listings)).changes if c.writes
    ]
    assert change.assistant is not None
    assert change.assistant.fields == {"instructions": "Ask two questions."}
    # The new spec hash goes with it, so the next plan sees no drift.
    assert change.assistant.metadata[SHA_KEY] == desired.assistants["quiz"].sha256
    assert change.assistant.send_tool_resources is False


def test_a_file_change_uploads_once_and_the_store_swaps_it() -> None:
    defs = copy.deepcopy(BASE)
    listings = converged(build(defs))
    new = b"Alpha, revised.\n"
    defs["tutor"]["docs"]["docs/a.md"] = new
    plan = make_plan(build(defs), actual_from_listings(NS, listings))
    (upload,) = [c for c in plan.changes if c.kind == "file" and c.action == "create"]
    assert upload.file is not None and upload.file.sha256 == sha(new)
    assert upload.file.upload_name == "a.md"
    (vs,) = [c for c in plan.changes if c.kind == "vector_store"]
    assert vs.vector_store is not None
    assert vs.vector_store.attach == [sha(new)]
    assert vs.vector_store.detach == [file_id(sha(BASE["tutor"]["docs"]["docs/a.md"]))]


def test_objects_of_other_namespaces_and_owners_are_not_ours() -> None:
    desired = build(BASE)
    listings = converged(desired)
    theirs = converged(build(BASE))
    for raw in theirs.assistants:
        raw["id"] += "_other"
        raw["metadata"]["orchestrator-namespace"] = "other"
    listings.assistants += theirs.assistants
    no_namespace = copy.deepcopy(assistant(listings, "quiz"))
    no_namespace["id"] = "asst_no_ns"
    del no_namespace["metadata"]["orchestrator-namespace"]
    listings.assistants.append(no_namespace)
    actual = actual_from_listings(NS, listings)
    assert sorted(a.id for a in actual.assistants) == [assistant_id("quiz"), assistant_id("tutor")]
    # Marked ones (of any namespace) are never adoption candidates either.
    assert actual.unmanaged_assistants == []
    assert not make_plan(desired, actual).has_changes
    assert all(MANAGED_BY_KEY in a.metadata and a.metadata[KEY_KEY] for a in actual.assistants)


def test_prune_needs_the_whole_project() -> None:
    desired = build(BASE, partial=True)
    actual = actual_from_listings(NS, converged(desired))
    with pytest.raises(ReconcileError, match="--prune needs the whole project"):
        make_plan(desired, actual, PlanOptions(prune=True))
    # Without --prune, what is outside the given paths is left alone and said so.
    del desired.assistants["quiz"]
    plan = make_plan(desired, actual)
    (kept,) = [c for c in plan.changes if c.action == "orphan"]
    assert kept.reason == "not in the given paths; left as it is"
    assert not plan.has_changes


def test_reasons_name_the_cause_rather_than_drift() -> None:
    defs = copy.deepcopy(BASE)
    listings = converged(build(defs))
    store_file("docs/a.md", status="failed", last_error={"message": "bad pdf"})(listings)
    (vs,) = [
        c for c in make_plan(build(defs), actual_from_listings(NS, listings)).changes if c.writes
    ]
    assert (vs.drift, vs.reason) == (False, "indexing failed: docs/a.md: bad pdf")

    listings = converged(build(defs))
    defs["tutor"]["chunking"] = SMALL_CHUNKS
    plan = make_plan(build(defs), actual_from_listings(NS, listings))
    (tutor,) = [c for c in plan.changes if c.kind == "assistant" and c.writes]
    assert (tutor.drift, tutor.reason) == (False, "its vector store is replaced")
    (replaced,) = [c for c in plan.changes if c.kind == "vector_store"]
    assert (replaced.action, replaced.reason) == ("replace", "chunking strategy changed")


def test_adoption_takes_the_named_id_and_says_why_others_cannot() -> None:
    defs = copy.deepcopy(BASE)
    listings = converged(build(defs))
    both(without_managed("quiz"), unmanaged("Quiz", n=2))(listings)
    actual = actual_from_listings(NS, listings)

    by_name = make_plan(build(defs), actual, PlanOptions(adopt=True))
    (blocked,) = by_name.blocked
    # With --adopt given, the hint is what to do next, not "run with --adopt" again.
    assert "--adopt" not in (blocked.reason or "")
    assert "adopt: {id: ...}" in (blocked.reason or "") and "asst_hand_0, asst_hand_1" in (
        blocked.reason or ""
    )
    assert "1 cannot be applied (conflicts" in by_name.counts().summary()

    edit("quiz", adopt_id="asst_hand_1")(defs)
    plan = make_plan(build(defs), actual, PlanOptions(adopt=True))
    (adopt,) = [c for c in plan.changes if c.action == "adopt"]
    assert adopt.id == "asst_hand_1"
    assert "exported from" in (adopt.reason or "")
    assert plan.adoption_ids == ["asst_hand_1"]

    edit("quiz", adopt_id="asst_elsewhere")(defs)
    del listings.assistants[-1]  # one of the name left: the fallback takes it
    fallback = make_plan(build(defs), actual_from_listings(NS, listings), PlanOptions(adopt=True))
    (adopt,) = [c for c in fallback.changes if c.action == "adopt"]
    assert adopt.id == "asst_hand_0"
    assert "its adopt.id asst_elsewhere is not an unmanaged assistant here" in (adopt.reason or "")
