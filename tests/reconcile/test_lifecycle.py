"""Drift, adoption, export round trips, namespaces, destroy, replacement and shared stores."""

from __future__ import annotations

import json
import uuid

import yaml

from tests.support.reconcile import FUNCTION, Proj, managed, store_files


def test_drift_shows_the_fields_edited_on_the_server(proj: Proj, direct) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    quiz = managed(direct, proj.ns).assistant("quiz")
    tools = [t.to_dict() for t in quiz.tools]
    tools[1]["function"]["parameters"]["properties"]["student"]["type"] = "integer"
    direct.beta.assistants.update(
        quiz.id, instructions="Hand-edited.", temperature=1.5, tools=tools
    )

    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 2
    out = r.stdout
    assert "changed on the server (drift)" in out
    assert "-Hand-edited." in out and "+Make quizzes from the notes." in out
    assert "temperature: 1.5 -> 1.0" in out
    assert (
        '~ function:lookup_grade.function.parameters.properties.student.type: "integer" -> "string"'
        in out
    )
    plan = proj.plan_json()
    change = next(c for c in plan["changes"] if c["key"] == "quiz" and c["kind"] == "assistant")
    assert change["drift"] is True and change["action"] == "update"
    assert {d["field"] for d in change["diffs"]} == {"instructions", "temperature", "tools"}

    r = proj.cli("diff")
    assert r.exit_code == 2
    assert "diff assistant quiz" in r.stdout and "(drift: changed on the server)" in r.stdout
    assert "-Hand-edited." in r.stdout

    proj.ok("apply", "--yes")
    fixed = managed(direct, proj.ns).assistant("quiz")
    assert fixed.instructions == "Make quizzes from the notes."
    assert fixed.temperature == 1.0
    assert proj.cli("diff").exit_code == 0
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_hand_detached_document_is_reattached(proj: Proj, direct) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    store = managed(direct, proj.ns).store("quiz")
    victim = store_files(direct, store.id)[0]
    direct.vector_stores.files.delete(victim.id, vector_store_id=store.id)
    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 2
    assert "changed on the server (drift)" in r.stdout
    proj.proxy.reset()
    proj.ok("apply", "--yes")
    assert ("POST", "/v1/files") not in proj.proxy.object_writes()  # re-attached, not re-uploaded
    assert victim.id in {f.id for f in store_files(direct, store.id)}


def test_same_named_unmanaged_assistant_is_reported_then_adopted(proj: Proj, direct) -> None:
    proj.basic()
    hand = direct.beta.assistants.create(
        model="gpt-3.5-turbo", name=proj.name("tutor"), instructions="old", metadata={"owner": "x"}
    )
    r = proj.cli("plan")
    # Something that cannot be applied is an error, said in the summary, never "changes".
    assert r.exit_code == 1
    assert "an unmanaged assistant named" in r.stdout and hand.id in r.stdout
    assert r.stdout.count("--adopt") == 1  # the hint once, not again as a warning
    assert "1 cannot be applied (conflicts" in r.stdout
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 1
    assert proj.cli("diff").exit_code == 1

    proj.proxy.reset()
    r = proj.cli("apply", "--yes")
    assert r.exit_code == 1
    assert "--adopt" in r.stderr
    assert proj.proxy.object_writes() == []

    r = proj.ok("apply", "--yes", "--adopt")
    assert "1 changed" in r.stdout
    m = managed(direct, proj.ns)
    tutor = m.assistant("tutor")
    assert tutor.id == hand.id  # taken over, not duplicated
    assert tutor.model == "gpt-4o" and tutor.instructions.startswith("You are a patient")
    assert tutor.metadata["team"] == "edu" and "owner" not in tutor.metadata
    same_name = [a for a in direct.beta.assistants.list(limit=100) if a.name == proj.name("tutor")]
    assert [a.id for a in same_name] == [hand.id]
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def test_export_of_managed_assistants_plans_no_changes(proj: Proj, direct, tmp_path) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    fresh = Proj(tmp_path / "fresh", proj.ns, proj.proxy)
    r = fresh.ok("export", "--managed-only")
    assert "Exported 2 assistants" in r.stdout
    quiz = yaml.safe_load((fresh.root / "assistants/quiz.yaml").read_text())
    assert quiz["tools"][1] == {"function": "functions/lookup_grade.json"}
    assert json.loads((fresh.root / "assistants/functions/lookup_grade.json").read_text()) == {
        **FUNCTION
    }
    assert (fresh.root / "assistants/files/quiz/algebra.md").read_bytes() == (
        proj.root / "assistants/docs/algebra.md"
    ).read_bytes()
    r = fresh.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "No changes." in r.stdout


def test_export_then_adopt_brings_hand_made_assistants_under_management(proj: Proj, direct) -> None:
    tag = uuid.uuid4().hex[:6]
    data = direct.files.create(file=("grades.csv", b"a,b\n1,2\n"), purpose="assistants")
    doc = direct.files.create(
        file=("guide.md", b"# Guide\nRead ${HOME} first.\n"), purpose="assistants"
    )
    vs = direct.vector_stores.create(name="hand store", file_ids=[doc.id])
    hand = direct.beta.assistants.create(
        model="gpt-4o",
        name=f"Hand Made {tag}",
        description="made in the dashboard",
        instructions="Line one.\nUse ${VAR} literally.",
        temperature=0.5,
        response_format={"type": "json_object"},
        tools=[
            {"type": "code_interpreter"},
            {"type": "file_search", "file_search": {"max_num_results": 3}},
            {"type": "function", "function": {**FUNCTION, "strict": False}},
        ],
        tool_resources={
            "code_interpreter": {"file_ids": [data.id]},
            "file_search": {"vector_store_ids": [vs.id]},
        },
        metadata={"team": "ops"},
    )
    r = proj.ok("export", hand.id)
    key = f"hand-made-{tag}"
    assert "Exported 1 assistant" in r.stdout
    # Unmanaged assistants go to their own folder, each naming the assistant it came from.
    assert "Unmanaged" in r.stdout and f"assistants/imported/{key}.yaml  <- {hand.id}" in r.stdout
    doc_yaml = yaml.safe_load((proj.root / f"assistants/imported/{key}.yaml").read_text())
    assert doc_yaml["adopt"] == {"id": hand.id}
    assert doc_yaml["name"] == f"Hand Made {tag}"
    assert doc_yaml["instructions_file"] == f"prompts/{key}.md"
    assert (proj.root / f"assistants/imported/prompts/{key}.md").read_text() == hand.instructions

    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 1 and "run with --adopt" in r.stdout
    r = proj.ok("plan", "--adopt")
    assert "run with --adopt" not in r.stdout
    assert f"takes over {hand.id}, the unmanaged assistant its YAML was exported from" in r.stdout
    assert "will be uploaded" not in r.stdout  # its files are adopted, not uploaded again
    # A saved plan: applied only if the server (the adopted objects too) is as planned.
    proj.ok("plan", "--adopt", "-o", str(proj.root / "adopt.plan.json"))
    proj.proxy.reset()
    proj.ok("apply", str(proj.root / "adopt.plan.json"))
    writes = proj.proxy.object_writes()
    assert ("POST", "/v1/files") not in writes and ("POST", "/v1/vector_stores") not in writes
    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    m = managed(direct, proj.ns)
    adopted = m.assistant(key)
    assert adopted.id == hand.id
    assert adopted.instructions == "Line one.\nUse ${VAR} literally."
    assert adopted.response_format.type == "json_object"
    # Its file and store were adopted with it: the same objects, now carrying our metadata.
    assert adopted.tool_resources.file_search.vector_store_ids == [vs.id]
    assert adopted.tool_resources.code_interpreter.file_ids == [data.id]
    assert m.store(key).id == vs.id
    assert [f.id for f in store_files(direct, vs.id)] == [doc.id]
    assert {f.id for f in m.files} == {data.id, doc.id}


def test_namespaces_on_one_server_never_touch_each_other(proj: Proj, direct, tmp_path) -> None:
    proj.basic()
    prod = Proj(tmp_path / "prod", f"{proj.ns}-prod", proj.proxy)
    prod.basic()
    # Same names in both (a copy of one project deployed twice).
    for rel in ("assistants/tutor.yaml", "assistants/quiz.yaml"):
        prod.write(rel, (proj.root / rel).read_text())
    proj.ok("apply", "--yes")
    prod.ok("apply", "--yes")
    dev_m, prod_m = managed(direct, proj.ns), managed(direct, prod.ns)
    assert dev_m.assistant("tutor").id != prod_m.assistant("tutor").id
    assert {f.id for f in dev_m.files}.isdisjoint({f.id for f in prod_m.files})
    snapshot = {a.id: a.to_dict() for a in prod_m.assistants}

    (proj.root / "assistants/quiz.yaml").unlink()
    proj.write("assistants/docs/algebra.md", "changed")
    proj.ok("apply", "--yes", "--prune")
    r = proj.ok("destroy", "--yes")
    assert "Destroy complete!" in r.stdout
    after = managed(direct, prod.ns)
    assert {a.id: a.to_dict() for a in after.assistants} == snapshot
    assert len(after.files) == 3
    assert prod.cli("plan", "--detailed-exitcode").exit_code == 0
    dev_after = managed(direct, proj.ns)
    assert dev_after.assistants == [] and dev_after.vector_stores == [] and dev_after.files == []
    assert not (proj.root / f"assistants.{proj.ns}.lock.json").exists()
    prod.ok("destroy", "--yes")


def test_destroy_asks_first_and_removes_everything_managed(proj: Proj, direct) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    r = proj.cli("destroy")
    assert r.exit_code == 1 and "refusing to destroy without confirmation" in r.stderr
    assert len(managed(direct, proj.ns).assistants) == 2
    r = proj.ok("destroy", "--yes")
    assert "Plan: 0 to add, 0 to change, 6 to destroy." in r.stdout
    m = managed(direct, proj.ns)
    assert (m.assistants, m.vector_stores, m.files) == ([], [], [])
    again = proj.ok("destroy", "--yes").stdout
    assert f"Nothing to destroy: namespace {proj.ns!r}" in again and "manages no objects" in again


def test_chunking_change_replaces_the_store_without_reuploading(proj: Proj, direct) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    old = managed(direct, proj.ns).store("quiz")
    text = (proj.root / "assistants/quiz.yaml").read_text()
    proj.write(
        "assistants/quiz.yaml",
        text.replace(
            "file_search: [docs/*.md]",
            "file_search:\n    paths: [docs/*.md]\n    chunking_strategy:\n      type: static\n"
            "      static: {max_chunk_size_tokens: 400, chunk_overlap_tokens: 100}",
        ),
    )
    r = proj.ok("plan")
    assert "must be replaced (chunking strategy changed)" in r.stdout
    proj.proxy.reset()
    proj.ok("apply", "--yes")
    assert ("POST", "/v1/files") not in proj.proxy.object_writes()
    m = managed(direct, proj.ns)
    new = m.store("quiz")
    assert new.id != old.id
    assert m.assistant("quiz").tool_resources.file_search.vector_store_ids == [new.id]
    files = store_files(direct, new.id)
    assert {f.chunking_strategy.static.max_chunk_size_tokens for f in files} == {400}
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def test_assistants_naming_one_store_share_it(proj: Proj, direct) -> None:
    proj.basic()
    for key in ("quiz", "quiz2"):
        proj.write(
            f"assistants/{key}.yaml",
            f"""
            kind: Assistant
            name: {proj.name(key)}
            tools: [file_search]
            files:
              file_search:
                vector_store: notes
                paths: [docs/*.md]
            """,
        )
    proj.ok("apply", "--yes")
    m = managed(direct, proj.ns)
    store = m.store("notes")
    assert len(m.vector_stores) == 1
    for key in ("quiz", "quiz2"):
        assert m.assistant(key).tool_resources.file_search.vector_store_ids == [store.id]
    assert len(store_files(direct, store.id)) == 2
