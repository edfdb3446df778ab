"""``export`` against a hostile server: every path it writes stays inside ``-o``."""

from __future__ import annotations

from pathlib import Path

import yaml

from orchestrator.ownership import KEY_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, NAMESPACE_KEY
from tests.support.reconcile import FUNCTION, Proj


def test_export_confines_keys_function_and_file_names_from_the_server(
    proj: Proj, direct, tmp_path: Path
) -> None:
    meta = {MANAGED_BY_KEY: MANAGED_BY_VALUE, NAMESPACE_KEY: proj.ns}
    dots = direct.files.create(file=("..", b"dot dot\n"), purpose="assistants")
    slashed = direct.files.create(
        file=("../../../escaped-file.md", b"# slashed\n"), purpose="assistants"
    )
    store = direct.vector_stores.create(
        name="hostile store",
        file_ids=[slashed.id],
        metadata={**meta, KEY_KEY: "../../../escaped-store"},
    )
    hostile = direct.beta.assistants.create(
        model="gpt-4o",
        name=proj.name("hostile"),
        instructions="Line one.\nLine two.",
        tools=[
            {"type": "code_interpreter"},
            {"type": "file_search"},
            {"type": "function", "function": FUNCTION},
        ],
        tool_resources={
            "code_interpreter": {"file_ids": [dots.id]},
            "file_search": {"vector_store_ids": [store.id]},
        },
        metadata={**meta, KEY_KEY: "../../escaped"},
    )
    # Our server refuses such a function name; a hostile one sends it anyway.
    proj.proxy.configure(
        rewrite=lambda method, path, body: body.replace(b'"lookup_grade"', b'"../../../escaped-fn"')
    )
    out = tmp_path / "deep" / "er" / "still" / "out"

    r = proj.cli("export", "--managed-only", "-o", str(out))

    assert r.exit_code == 0, r.output
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    outside = [p for p in written if not (p.is_relative_to(out) or p.is_relative_to(proj.root))]
    assert outside == [], f"export wrote outside -o: {outside}"
    assert "'../../escaped', which is not a valid key" in r.stderr
    assert "'../../../escaped-store', which is not a valid key" in r.stderr
    assert "function name '../../../escaped-fn' is not a valid function name" in r.stderr
    key = f"hostile-{proj.ns}"
    doc = yaml.safe_load((out / f"{key}.yaml").read_text())
    assert doc["key"] == key and hostile.id in (out / f"{key}.yaml").read_text()
    assert doc["instructions_file"] == f"prompts/{key}.md"
    assert doc["tools"][2] == {"function": "functions/escaped-fn.json"}
    assert doc["files"]["code_interpreter"] == [f"files/{key}-code/{dots.id}"]
    assert doc["files"]["file_search"] == [f"files/{key}/escaped-file.md"]
    assert (out / "files" / f"{key}-code" / dots.id).read_bytes() == b"dot dot\n"


def test_export_refuses_a_folder_that_links_outside_the_output(proj: Proj, tmp_path: Path) -> None:
    proj.basic()
    proj.ok("apply", "--yes")
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / "functions").symlink_to(elsewhere, target_is_directory=True)

    r = proj.cli("export", "--managed-only", "-o", str(out))

    assert r.exit_code == 1
    assert "refusing to write" in r.stderr and "outside" in r.stderr
    assert list(elsewhere.iterdir()) == []
    assert not (out / "quiz.yaml").exists()  # nothing half-written
