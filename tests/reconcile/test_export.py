"""``orchestrator export``: what it writes, what it refuses, and what it reports."""

from __future__ import annotations

import json
import uuid

from tests.support.reconcile import Proj


def test_export_of_an_unknown_id_or_name_is_an_error_and_writes_nothing(proj: Proj) -> None:
    r = proj.cli("export", "asst_does_not_exist", "No Such Assistant")
    assert r.exit_code == 1
    assert "'No Such Assistant', 'asst_does_not_exist'" in r.stderr
    assert "nothing was exported" in r.stderr and "Exported" not in r.stdout
    assert not (proj.root / "assistants").exists()


def test_export_reads_only_orchestrator_yaml(proj: Proj, direct) -> None:
    # Into an empty project (the migration's first step), and next to a broken YAML.
    proj.write("assistants/broken.yaml", "kind: Assistant\nmodel: [not, a, model]\n")
    hand = direct.beta.assistants.create(model="gpt-4o", name=f"Plain {proj.ns}")
    r = proj.ok("export", hand.id)
    assert r.stderr == ""  # no "no assistant files found", no diagnostics of broken.yaml
    assert "Exported 1 assistant" in r.stdout
    proj.write("orchestrator.yaml", "namespace: [not, a, namespace]\n")
    r = proj.cli("export", hand.id)
    assert r.exit_code == 1 and "orchestrator.yaml" in r.stderr


def test_managed_and_unmanaged_go_to_separate_folders_and_json_reports_them(
    proj: Proj, direct
) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    tag = uuid.uuid4().hex[:6]
    hand = direct.beta.assistants.create(model="gpt-4o", name=f"Hand {tag}", instructions="Hi.")
    fresh = Proj(proj.root.parent / "fresh", proj.ns, proj.proxy)

    r = fresh.ok("export", "tutor", "quiz", hand.id, "--json")
    report = json.loads(r.stdout)
    assert report["format_version"] == 1
    by_id = {a["id"]: a for a in report["assistants"]}
    assert by_id[hand.id] == {
        "key": f"hand-{tag}",
        "id": hand.id,
        "name": f"Hand {tag}",
        "managed": False,
        "path": f"assistants/imported/hand-{tag}.yaml",
        "status": "written",
    }
    assert {a["path"] for a in report["assistants"] if a["managed"]} == {
        "assistants/tutor.yaml",
        "assistants/quiz.yaml",
    }
    assert report["summary"] == {
        "exported": 3,
        "managed": 2,
        "unmanaged": 1,
        "skipped": 0,
        "files_written": len(report["written"]),
    }
    assert all((fresh.root / p).is_file() for p in report["written"])

    again = json.loads(fresh.ok("export", "tutor", "quiz", hand.id, "--json").stdout)
    assert again["written"] == [] and {a["status"] for a in again["assistants"]} == {"unchanged"}


def test_a_yaml_in_the_way_skips_its_assistant_whole_and_the_count_says_so(
    proj: Proj, direct
) -> None:
    tag = uuid.uuid4().hex[:6]
    data = direct.files.create(file=("a.csv", b"x\n1\n"), purpose="assistants")
    hand = direct.beta.assistants.create(
        model="gpt-4o",
        name=f"Hand {tag}",
        instructions="Line one.\nLine two.",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": [data.id]}},
    )
    proj.ok("export", hand.id)
    key = f"hand-{tag}"
    yaml_path = proj.root / f"assistants/imported/{key}.yaml"
    yaml_path.write_text(yaml_path.read_text() + "# my own edit\n")
    more = direct.files.create(file=("b.csv", b"y\n2\n"), purpose="assistants")
    direct.beta.assistants.update(
        hand.id,
        instructions="Line one.\nLine three.",
        tool_resources={"code_interpreter": {"file_ids": [data.id, more.id]}},
    )

    r = proj.cli("export", hand.id)

    assert r.exit_code == 0, r.output
    assert f"Exported 0 assistants to {proj.root / 'assistants'}; 1 skipped" in r.stdout
    assert f"assistant {key} ({hand.id}) not exported: {yaml_path}" in r.stderr
    assert "--force" in r.stderr
    # Nothing of it was written: no prompt or file copy without the YAML that uses it.
    assert "wrote" not in r.stdout
    assert not (proj.root / f"assistants/imported/files/{key}-code/b.csv").exists()
    prompt = proj.root / f"assistants/imported/prompts/{key}.md"
    assert prompt.read_text() == "Line one.\nLine two."

    r = proj.ok("export", hand.id, "--force")
    assert "Exported 1 assistant" in r.stdout
    assert (proj.root / f"assistants/imported/files/{key}-code/b.csv").read_bytes() == b"y\n2\n"
    assert prompt.read_text() == "Line one.\nLine three."
