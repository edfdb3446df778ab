"""Files under their real names: what end users see after `orchestrator apply`, and how
the reconciler still knows them (file entries, the write-ahead journal, earlier versions'
hash-tagged names)."""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from typing import Any

import openai

from orchestrator.ownership import FILE_SHA_ATTRIBUTE, FILES_KEY
from orchestrator.reconcile.identity import legacy_namespace_tag
from tests.support import ROOT
from tests.support import reconcile as support
from tests.support.reconcile import SCORES_CSV, Proj, bookkeeping, managed, orphans

BASIC_NAMES = {"scores.csv", "algebra.md", "geometry.md"}


def example_project(proj: Proj) -> None:
    """The repository's example assistants, with names unique to this test's namespace."""
    shutil.copytree(ROOT / "assistants", proj.root / "assistants")
    for path in (proj.root / "assistants").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(
            re.sub(r"^name: (.+)$", rf"name: \1 {proj.ns}", text, flags=re.M), encoding="utf-8"
        )


def run_turn(client: openai.OpenAI, assistant_id: str, text: str) -> tuple[Any, list[Any]]:
    """One user message and a run to completion: the reply message and the run steps."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=50
    )
    assert run.status == "completed", run.last_error
    reply = client.beta.threads.messages.list(thread.id, order="desc", limit=1).data[0]
    steps = list(client.beta.threads.runs.steps.list(run.id, thread_id=thread.id))
    return reply, steps


def test_citations_name_the_plain_file_after_applying_the_example(
    proj: Proj, direct, client
) -> None:
    example_project(proj)
    proj.ok("apply", "--yes")
    quiz = proj.lockfile()["assistants"]["quiz-generator"]["id"]
    reply, _ = run_turn(
        client,
        quiz,
        "What do the course notes say about the hypotenuse in the Pythagorean theorem?",
    )
    text = reply.content[0].text
    # The markers the end user reads, and the files their app looks up, carry real names.
    markers = re.findall(r"【\d+:\d+†([^】]+)】", text.value)
    assert "geometry-notes.md" in markers
    assert set(markers) <= {"geometry-notes.md", "algebra-notes-ko.md"}
    cited = [a for a in text.annotations if a.type == "file_citation"]
    geometry = [a for a in cited if a.text.endswith("†geometry-notes.md】")]
    assert geometry, text.annotations
    assert client.files.retrieve(geometry[0].file_citation.file_id).filename == "geometry-notes.md"
    m = managed(direct, proj.ns)
    assert sorted(f.filename for f in m.files) == [
        "algebra-notes-ko.md",
        "geometry-notes.md",
        "quiz-scores.csv",
    ]


def test_code_interpreter_files_are_in_the_sandbox_under_their_names(
    proj: Proj, direct, client
) -> None:
    example_project(proj)
    proj.ok("apply", "--yes")
    tutor = proj.lockfile()["assistants"]["math-tutor-code"]["id"]
    code = (
        "import os\n"
        "print(sorted(n for n in os.listdir('.') if n.endswith('.csv')))\n"
        "print(open('quiz-scores.csv', encoding='utf-8').readline().strip())\n"
    )
    _, steps = run_turn(client, tutor, f"Read the scores:\n\n```python\n{code}```\n")
    calls = [
        call
        for s in steps
        if s.step_details.type == "tool_calls"
        for call in s.step_details.tool_calls
        if call.type == "code_interpreter"
    ]
    assert calls, "the code did not run"
    logs = "".join(o.logs for o in calls[0].code_interpreter.outputs if o.type == "logs")
    header = (ROOT / "assistants/data/quiz-scores.csv").read_text(encoding="utf-8").splitlines()[0]
    assert logs.splitlines() == ["['quiz-scores.csv']", header.strip()]


def test_renaming_a_code_interpreter_file_uploads_it_under_the_new_name(proj: Proj, direct) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    before = managed(direct, proj.ns)
    old = before.file("scores.csv")
    (proj.root / "assistants/data/scores.csv").rename(proj.root / "assistants/data/grades.csv")
    text = (proj.root / "assistants/tutor.yaml").read_text()
    proj.write("assistants/tutor.yaml", text.replace("data/scores.csv", "data/grades.csv"))
    r = proj.ok("plan")
    assert "renamed: the code interpreter shows files by name" in r.stdout
    assert "# file 'scores.csv' will be destroyed (renamed to grades.csv for the code" in r.stdout
    proj.proxy.reset()
    proj.ok("apply", "--yes")
    writes = proj.proxy.object_writes()
    assert writes.count(("POST", "/v1/files")) == 1
    assert ("DELETE", f"/v1/files/{old.id}") in writes
    after = managed(direct, proj.ns)
    grades = after.file("grades.csv")
    assert after.assistant("tutor").tool_resources.code_interpreter.file_ids == [grades.id]
    assert direct.files.content(grades.id).content == SCORES_CSV
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_code_interpreter_file_removed_by_hand_is_put_back_without_upload(
    proj: Proj, direct
) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    tutor = managed(direct, proj.ns).assistant("tutor")
    (csv,) = tutor.tool_resources.code_interpreter.file_ids
    # Edited by hand: the file taken off, the file entry (our record) left as it was.
    direct.beta.assistants.update(tutor.id, tool_resources={"code_interpreter": {"file_ids": []}})
    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 2 and "changed on the server (drift)" in r.stdout
    proj.proxy.reset()
    proj.ok("apply", "--yes")
    assert proj.proxy.object_writes() == [("POST", f"/v1/assistants/{tutor.id}")]
    assert managed(direct, proj.ns).assistant("tutor").tool_resources.code_interpreter.file_ids == [
        csv
    ]
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def _store_create(method: str, path: str, body: bytes) -> bool:
    # The managed store's create (not the lock's or the journal's).
    return method == "POST" and path == "/v1/vector_stores" and b'"orchestrator-key"' in body


def _attach(method: str, path: str, body: bytes) -> bool:
    return method == "POST" and path.endswith("/file_batches")


def _kill_at(proj: Proj, point: Any) -> None:
    proj.proxy.configure(hang_when=point)
    p = proj.subprocess_cli("apply", "--yes")
    try:
        assert proj.proxy.hung.wait(90), "the apply never got there"
    finally:
        p.kill()
        p.communicate(timeout=30)
    proj.proxy.configure()
    proj.proxy.release()


def test_apply_killed_between_upload_and_attach_leaves_no_orphan(
    proj: Proj, direct, sentinels
) -> None:
    started = int(time.time())
    proj.basic()
    # Killed after its uploads, before the store that would use them exists: only the
    # journal knows these files are ours.
    _kill_at(proj, _store_create)
    left = orphans(direct, started, BASIC_NAMES, sentinels.ids.values())
    assert sorted(f.filename for f in left) == sorted(BASIC_NAMES)
    assert any("orchestrator-journal" in (v.metadata or {}) for v in bookkeeping(direct, proj.ns))

    r = proj.ok("plan")
    assert "journal 'interrupted apply' will be cleared" in r.stdout
    assert "will be uploaded" not in r.stdout  # its uploads are found again
    proj.proxy.reset()
    r = proj.ok("apply", "--yes")
    assert "Removed a stale lock" in r.output
    assert ("POST", "/v1/files") not in proj.proxy.object_writes()
    m = managed(direct, proj.ns)
    assert {f.id for f in m.files} == {f.id for f in left}  # used, not uploaded again
    assert orphans(direct, started, BASIC_NAMES, sentinels.ids.values()) == []
    assert bookkeeping(direct, proj.ns) == []
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def test_apply_killed_before_attaching_converges_when_the_yaml_changed(
    proj: Proj, direct, sentinels
) -> None:
    started = int(time.time())
    proj.basic()
    # Killed with the store created (it lists the files it is about to get) and the
    # files not yet attached; then the YAML changes one of them.
    _kill_at(proj, _attach)
    stray = {f.filename: f for f in orphans(direct, started, BASIC_NAMES, sentinels.ids.values())}
    assert set(stray) == BASIC_NAMES
    proj.write("assistants/docs/geometry.md", "# Geometry\nA square has four sides.\n")

    r = proj.ok("plan")
    # The old geometry.md is known by the store's file entries: deleted, not re-uploaded.
    assert "# file 'geometry.md' will be destroyed (no longer used)" in r.stdout
    assert "journal 'interrupted apply' will be cleared" in r.stdout
    proj.proxy.reset()
    proj.ok("apply", "--yes")
    writes = proj.proxy.object_writes()
    assert writes.count(("POST", "/v1/files")) == 1  # the new geometry.md only
    assert ("DELETE", f"/v1/files/{stray['geometry.md'].id}") in writes
    m = managed(direct, proj.ns)
    assert m.file("algebra.md").id == stray["algebra.md"].id
    assert m.file("scores.csv").id == stray["scores.csv"].id
    assert direct.files.content(m.file("geometry.md").id).content.endswith(b"four sides.\n")
    assert orphans(direct, started, BASIC_NAMES, sentinels.ids.values()) == []
    assert bookkeeping(direct, proj.ns) == []
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_failed_apply_keeps_its_journal_and_the_next_one_finishes(
    proj: Proj, direct, sentinels
) -> None:
    started = int(time.time())
    proj.basic()
    # The store cannot be created (the server keeps failing), so the apply stops after its
    # uploads, with files only its journal knows.
    proj.proxy.configure(
        support.Faults(when=lambda m, p, b: "500_before" if _store_create(m, p, b) else None)
    )
    r = proj.cli("apply", "--yes")
    assert r.exit_code == 1, r.output
    assert "the server kept failing" in r.output
    proj.proxy.configure()
    journal = [v for v in bookkeeping(direct, proj.ns) if "orchestrator-journal" in v.metadata]
    assert journal, "the failed apply removed its journal"
    proj.proxy.reset()
    proj.ok("apply", "--yes")
    assert orphans(direct, started, BASIC_NAMES, sentinels.ids.values()) == []
    assert bookkeeping(direct, proj.ns) == []
    assert len(managed(direct, proj.ns).files) == 3
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0


def test_files_of_an_earlier_version_are_uploaded_again_under_their_names(
    proj: Proj, direct
) -> None:
    """State as versions before file entries left it: hash-tagged names, no entries."""
    proj.basic()
    proj.ok("apply", "--yes")
    m = managed(direct, proj.ns)
    tag = legacy_namespace_tag(proj.ns)
    legacy: dict[str, str] = {}
    for f in m.files:
        data = direct.files.content(f.id).content
        sha = hashlib.sha256(data).hexdigest()
        new = direct.files.create(
            file=(f"{sha[:16]}-{tag}--{f.filename}", data), purpose="assistants"
        )
        legacy[f.filename] = new.id
    store = m.store("quiz")
    for vf in support.store_files(direct, store.id):
        sha = vf.attributes[FILE_SHA_ATTRIBUTE]
        name = next(f.filename for f in m.files if f.id == vf.id)
        direct.vector_stores.files.delete(vf.id, vector_store_id=store.id)
        direct.vector_stores.files.create_and_poll(
            file_id=legacy[name], vector_store_id=store.id, attributes={FILE_SHA_ATTRIBUTE: sha}
        )
    direct.vector_stores.update(
        store.id, metadata={k: v for k, v in store.metadata.items() if not k.startswith(FILES_KEY)}
    )
    tutor = m.assistant("tutor")
    direct.beta.assistants.update(
        tutor.id,
        metadata={k: v for k, v in tutor.metadata.items() if k != FILES_KEY},
        tool_resources={"code_interpreter": {"file_ids": [legacy["scores.csv"]]}},
    )
    for f in m.files:
        direct.files.delete(f.id)

    r = proj.ok("plan")
    assert "uploaded under a hash-tagged name by an earlier version" in r.stdout
    assert "changed on the server (drift)" not in r.stdout
    proj.ok("apply", "--yes")
    after = managed(direct, proj.ns)
    assert sorted(f.filename for f in after.files) == sorted(BASIC_NAMES)
    for fid in legacy.values():
        try:
            direct.files.retrieve(fid)
            raise AssertionError(f"{fid} (hash-tagged) was kept")
        except openai.NotFoundError:
            pass
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0
