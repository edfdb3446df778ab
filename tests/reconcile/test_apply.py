"""plan / apply against the real server over HTTP: create, idempotence, targeted changes, prune.

Requests are counted at the HTTP layer by the proxy in front of the server.
"""

from __future__ import annotations

from tests.support import reconcile as support
from tests.support.reconcile import Proj, managed, store_files


def test_apply_creates_everything_and_a_second_apply_writes_nothing(proj: Proj, direct) -> None:
    proj.basic()
    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "Plan: 6 to add, 0 to change, 0 to destroy." in r.stdout

    r = proj.ok("apply", "--yes")
    assert "Apply complete! Resources: 6 added, 0 changed, 0 destroyed." in r.stdout

    m = managed(direct, proj.ns)
    tutor, quiz = m.assistant("tutor"), m.assistant("quiz")
    assert tutor.name == proj.name("tutor")
    assert tutor.instructions == "You are a patient math tutor.\nAnswer briefly.\n"
    assert tutor.temperature == 0.3
    assert tutor.metadata["team"] == "edu"
    assert [t.type for t in tutor.tools] == ["code_interpreter"]
    assert [t.type for t in quiz.tools] == ["file_search", "function"]
    assert quiz.tools[1].function.name == "lookup_grade"
    store = m.store("quiz")
    assert quiz.tool_resources.file_search.vector_store_ids == [store.id]
    attached = store_files(direct, store.id)
    assert {f.status for f in attached} == {"completed"}
    assert all(len(f.attributes["orchestrator-sha256"]) == 64 for f in attached)
    assert len(m.files) == 3
    # Uploaded under their own names.
    assert sorted(f.filename for f in m.files) == ["algebra.md", "geometry.md", "scores.csv"]
    csv = m.file("scores.csv")
    assert tutor.tool_resources.code_interpreter.file_ids == [csv.id]

    lock = proj.lockfile()
    assert lock["namespace"] == proj.ns
    assert lock["assistants"]["tutor"]["id"] == tutor.id
    assert lock["assistants"]["tutor"]["file_ids"] == [csv.id]
    assert lock["assistants"]["quiz"]["vector_store_ids"] == [store.id]
    assert lock["files"]["assistants/data/scores.csv"]["id"] == csv.id

    # Second apply: only list requests, no write at all.
    proj.proxy.reset()
    r = proj.ok("apply", "--yes", "--env")
    assert proj.proxy.writes() == []
    assert set(proj.proxy.by_method()) == {"GET"}
    # From list responses alone: no per-object GET, no download.
    lists = {
        "/v1/assistants",
        "/v1/vector_stores",
        "/v1/files",
        f"/v1/vector_stores/{store.id}/files",
    }
    assert {r.path.split("?", 1)[0] for r in proj.proxy.log} == lists
    assert r.stdout.splitlines() == [
        f"QUIZ_ASSISTANT_ID={quiz.id}",
        f"TUTOR_ASSISTANT_ID={tutor.id}",
    ]
    assert "No changes." in r.stderr

    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "No changes." in r.stdout


def test_changing_instructions_changes_exactly_that_assistant(proj: Proj, direct) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    before = managed(direct, proj.ns)
    tutor = before.assistant("tutor")
    text = (proj.root / "assistants/tutor.yaml").read_text()
    proj.write("assistants/tutor.yaml", text.replace("Answer briefly.", "Answer in one line."))

    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 2
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in r.stdout
    assert "-Answer briefly." in r.stdout and "+Answer in one line." in r.stdout

    proj.proxy.reset()
    proj.ok("apply", "--yes")
    assert proj.proxy.object_writes() == [("POST", f"/v1/assistants/{tutor.id}")]
    after = managed(direct, proj.ns)
    assert after.assistant("tutor").instructions.endswith("Answer in one line.\n")
    # Everything else is byte-for-byte as it was.
    assert after.assistant("quiz").to_dict() == before.assistant("quiz").to_dict()
    assert [f.id for f in after.files] == [f.id for f in before.files]
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def test_changed_file_uploads_one_file_and_removes_the_old_one(proj: Proj, direct) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    before = managed(direct, proj.ns)
    store = before.store("quiz")
    old = before.file("geometry.md")

    proj.write("assistants/docs/geometry.md", "# Geometry\nA square has four sides.\n")
    r = proj.ok("plan")
    assert "Plan: 1 to add, 1 to change, 1 to destroy." in r.stdout
    proj.proxy.reset()
    proj.ok("apply", "--yes")
    writes = proj.proxy.object_writes()
    uploads = [w for w in writes if w == ("POST", "/v1/files")]
    assert len(uploads) == 1
    assert ("DELETE", f"/v1/vector_stores/{store.id}/files/{old.id}") in writes
    assert ("DELETE", f"/v1/files/{old.id}") in writes
    # No assistant was written: the store kept its id.
    assert not [w for w in writes if w[1].startswith("/v1/assistants")]

    after = managed(direct, proj.ns)
    assert old.id not in {f.id for f in after.files}
    new = after.file("geometry.md")
    attached = {f.id for f in store_files(direct, store.id)}
    assert new.id in attached and old.id not in attached
    assert direct.files.content(new.id).content == b"# Geometry\nA square has four sides.\n"
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0

    # Renaming a file without changing its bytes uploads nothing (and writes nothing).
    (proj.root / "assistants/docs/algebra.md").rename(proj.root / "assistants/docs/algebra-1.md")
    proj.proxy.reset()
    r = proj.ok("apply", "--yes")
    assert proj.proxy.writes() == []
    assert "No changes." in r.stdout
    assert "assistants/docs/algebra-1.md" in proj.lockfile()["files"]


def test_prune_deletes_exactly_what_left_the_yaml(proj: Proj, direct) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    before = managed(direct, proj.ns)
    quiz, store = before.assistant("quiz"), before.store("quiz")
    docs = {f.id for f in store_files(direct, store.id)}
    (proj.root / "assistants/quiz.yaml").unlink()

    r = proj.ok("plan")
    assert "No changes." in r.stdout
    assert "2 managed objects left the YAML and will be kept; run with --prune" in r.stdout
    proj.proxy.reset()
    proj.ok("apply", "--yes")
    assert proj.proxy.object_writes() == []  # nothing deleted without --prune

    r = proj.ok("plan", "--prune")
    assert "Plan: 0 to add, 0 to change, 4 to destroy." in r.stdout
    proj.proxy.reset()
    proj.ok("apply", "--yes", "--prune")
    writes = proj.proxy.object_writes()
    assert sorted(writes) == sorted(
        [("DELETE", f"/v1/assistants/{quiz.id}"), ("DELETE", f"/v1/vector_stores/{store.id}")]
        + [("DELETE", f"/v1/files/{fid}") for fid in docs]
    )
    # Around the file deletions: the journal (one page written before, removed after) and
    # the lock.
    journal = [w for w in proj.proxy.bookkeeping_writes() if w[0] == "POST"]
    assert len(journal) == 2 and len(proj.proxy.bookkeeping_writes()) == 4
    assert support.bookkeeping(direct, proj.ns) == []
    after = managed(direct, proj.ns)
    assert [a.metadata["orchestrator-key"] for a in after.assistants] == ["tutor"]
    assert after.assistant("tutor").to_dict() == before.assistant("tutor").to_dict()
    assert after.vector_stores == []
    assert "quiz" not in proj.lockfile()["assistants"]


def test_plan_json_is_versioned_and_complete(proj: Proj) -> None:
    proj.basic()
    plan = proj.plan_json()
    assert plan["format_version"] == 2
    assert plan["namespace"] == proj.ns
    assert plan["summary"]["text"] == "Plan: 6 to add, 0 to change, 0 to destroy."
    assert plan["has_changes"] is True
    kinds = [(c["kind"], c["action"]) for c in plan["changes"] if c["action"] != "noop"]
    assert kinds == [
        ("file", "create"),
        ("file", "create"),
        ("file", "create"),
        ("vector_store", "create"),
        ("assistant", "create"),
        ("assistant", "create"),
    ]
    uploads = {c["label"]: c["file"]["upload_name"] for c in plan["changes"] if c["kind"] == "file"}
    assert uploads == {
        "assistants/data/scores.csv": "scores.csv",
        "assistants/docs/algebra.md": "algebra.md",
        "assistants/docs/geometry.md": "geometry.md",
    }
    tutor = next(c for c in plan["changes"] if c["key"] == "tutor")
    assert tutor["assistant"]["fields"]["temperature"] == 0.3
    assert tutor["assistant"]["metadata"]["orchestrator-namespace"] == proj.ns
    assert len(plan["fingerprint"]) == 64


def test_apply_refuses_without_confirmation_off_a_terminal(proj: Proj, direct) -> None:
    proj.basic()
    proj.proxy.reset()
    r = proj.cli("apply")
    assert r.exit_code == 1
    assert "refusing to apply without confirmation" in r.stderr
    assert "--yes" in r.stderr
    assert proj.proxy.writes() == []
    assert managed(direct, proj.ns).assistants == []


def test_saved_plan_applies_exactly_and_refuses_when_stale(proj: Proj, direct) -> None:
    proj.basic()
    plan_file = proj.root / "plan.json"
    proj.ok("plan", "-o", str(plan_file))
    # The YAML changes after the plan: the saved plan still applies what was reviewed.
    text = (proj.root / "assistants/tutor.yaml").read_text()
    proj.write("assistants/tutor.yaml", text.replace("temperature: 0.3", "temperature: 0.9"))
    r = proj.ok("apply", str(plan_file))
    assert "6 added" in r.stdout
    assert managed(direct, proj.ns).assistant("tutor").temperature == 0.3

    # A new plan, then someone edits the server: applying the old plan is refused.
    proj.ok("plan", "-o", str(plan_file))
    tutor = managed(direct, proj.ns).assistant("tutor")
    direct.beta.assistants.update(tutor.id, instructions="edited by hand")
    proj.proxy.reset()
    r = proj.cli("apply", str(plan_file))
    assert r.exit_code == 1
    assert "the server changed since this plan was made" in r.stderr
    assert proj.proxy.object_writes() == []
    assert managed(direct, proj.ns).assistant("tutor").instructions == "edited by hand"

    # A plan that uploads a file is refused when that file changed on disk since.
    proj.write("assistants/data/scores.csv", b"student,score\nana,10\n")
    proj.ok("plan", "-o", str(plan_file))
    proj.write("assistants/data/scores.csv", b"student,score\nana,11\n")
    proj.proxy.reset()
    r = proj.cli("apply", str(plan_file))
    assert r.exit_code == 1, r.output
    assert "assistants/data/scores.csv: its content changed" in r.stderr
    assert proj.proxy.object_writes() == []
