"""Issue 14's must-show: the seed notebooks run twice, then export -> adopt -> no changes.

On a server of its own (so that every object on it can be counted): the seed notebooks'
code makes its assistants, files and vector stores twice (six "Math Tutor"s, two
nameless assistants, the paper and the CSV uploaded twice, two "machine learning"
stores). ``export`` writes them as YAML, ``plan --adopt`` / ``apply --adopt`` take
them over by the ids the YAML records, and afterwards ``plan`` says "No changes":
nothing was created, uploaded or deleted, every object is ours, none is unused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import yaml

from orchestrator.ownership import FILE_SHA_ATTRIBUTE, is_managed
from orchestrator.testing import ServerProcess
from tests.support.proxy import FaultProxy
from tests.support.reconcile import Proj, bookkeeping, store_files
from tests.support.seed_code import run_seed_notebooks

pytestmark = pytest.mark.integration


@pytest.fixture
def own_server(server_factory) -> Iterator[tuple[ServerProcess, FaultProxy]]:
    server = server_factory()
    proxy = FaultProxy(server.base_url).start()
    try:
        yield server, proxy
    finally:
        proxy.stop()


def _everything(client: openai.OpenAI) -> dict[str, list]:
    return {
        "assistants": list(client.beta.assistants.list(limit=100, order="asc")),
        "vector_stores": list(client.vector_stores.list(limit=100, order="asc")),
        "files": list(client.files.list(purpose="assistants")),
    }


def _ids(state: dict[str, list]) -> dict[str, set[str]]:
    return {kind: {o.id for o in objs} for kind, objs in state.items()}


def test_seeds_run_twice_export_adopt_then_no_changes_and_nothing_duplicated_or_orphaned(
    own_server: tuple[ServerProcess, FaultProxy], tmp_path: Path
) -> None:
    server, proxy = own_server
    client = server.client()
    made = run_seed_notebooks(client, tmp_path) + run_seed_notebooks(client, tmp_path)
    before = _ids(_everything(client))
    assert [len(before[k]) for k in ("assistants", "vector_stores", "files")] == [10, 2, 4]
    proj = Proj(tmp_path / "project", "default", proxy)

    r = proj.ok("export")
    assert "Exported 10 assistants" in r.stdout
    yamls = sorted((proj.root / "assistants/imported").glob("*.yaml"))
    recorded = {yaml.safe_load(p.read_text(encoding="utf-8"))["adopt"]["id"] for p in yamls}
    assert recorded == {a.id for a in made}  # every YAML names the assistant it came from

    r = proj.cli("plan")
    assert r.exit_code == 1  # conflicts until --adopt: an error, not "changes present"
    assert "10 cannot be applied" in r.stdout

    r = proj.ok("plan", "--adopt")
    assert "Plan: 12 to adopt, 0 to add, 0 to change, 0 to destroy." in r.stdout
    assert "will be uploaded" not in r.stdout and "cannot be created" not in r.stdout

    proxy.reset()
    r = proj.ok("apply", "--yes", "--adopt")
    assert "Apply complete! Resources: 0 added, 12 changed, 0 destroyed." in r.stdout
    writes = proxy.object_writes()
    assert ("POST", "/v1/files") not in writes
    assert ("POST", "/v1/assistants") not in writes
    assert not [w for w in writes if w[0] == "DELETE"]

    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "No changes." in r.stdout

    # The same objects as before (no duplicate), each one ours, each one used (no orphan).
    after = _everything(client)
    assert bookkeeping(client, "default") == []
    assert _ids(after) == before
    assert all(is_managed(a.metadata, "default") for a in after["assistants"])
    assert all(is_managed(v.metadata, "default") for v in after["vector_stores"])
    resources = [a.to_dict().get("tool_resources") or {} for a in after["assistants"]]
    used = {f for r in resources for f in (r.get("code_interpreter") or {}).get("file_ids", [])}
    for v in after["vector_stores"]:
        files = store_files(client, v.id)
        assert all(len(f.attributes[FILE_SHA_ATTRIBUTE]) == 64 for f in files)
        used.update(f.id for f in files)
    assert used == before["files"]
    stores_used = {
        v for r in resources for v in (r.get("file_search") or {}).get("vector_store_ids", [])
    }
    assert stores_used == before["vector_stores"]
