"""`--json` on apply, diff, destroy and test: one versioned document on stdout (the rest
on stderr); `plan --json` with YAML errors prints the diagnostics as `validate --json`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli.exit_codes import CHANGES, ERROR, USAGE
from tests.support import API_KEY
from tests.support.cli import run_cli

pytestmark = pytest.mark.integration


def new_project(tmp_path: Path) -> Path:
    r = run_cli(tmp_path, "init", "proj")
    assert r.returncode == 0, r.stdout + r.stderr
    return tmp_path / "proj"


def document(stdout: str) -> Any:
    """stdout holds exactly one JSON document (json.loads refuses anything around it)."""
    return json.loads(stdout)


def test_plan_json_with_yaml_errors_prints_the_diagnostics(tmp_path: Path) -> None:
    proj = new_project(tmp_path)
    (proj / "assistants/broken.yaml").write_text("kind: Assistant\nkey: broken\ntemperature: hot\n")
    r = run_cli(proj, "plan", "--json")
    assert r.returncode == ERROR, r.stdout + r.stderr
    problems = document(r.stdout)
    validated = document(run_cli(proj, "validate", "--json").stdout)
    assert problems == validated
    (problem,) = [p for p in problems if p["severity"] == "error"]
    assert problem["path"] == "assistants/broken.yaml" and problem["line"] == 3
    assert problem["message"] == "temperature must be a number, got a string ('hot')"


# Many CLI processes in a row: more than the default per-test limit on a busy machine.
@pytest.mark.timeout(600)
def test_apply_diff_destroy_test_json(server, tmp_path: Path) -> None:
    proj = new_project(tmp_path)
    ns = "t-" + uuid.uuid4().hex[:8]
    target = ["--base-url", server.base_url, "--api-key", API_KEY, "-n", ns]

    r = run_cli(proj, "apply", "--json", *target)
    assert r.returncode == USAGE and "--json needs --yes" in r.stderr

    r = run_cli(proj, "apply", "--yes", "--json", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    applied = document(r.stdout)
    assert applied["format_version"] == 1 and applied["command"] == "apply"
    assert applied["namespace"] == ns and applied["applied"] is True
    assert applied["summary"] == {"added": 1, "changed": 0, "destroyed": 0, "failed": 0}
    (change,) = applied["changes"]
    assert change["kind"] == "assistant" and change["label"] == "order-helper"
    assert change["ok"] is True and change["id"].startswith("asst_")
    assert applied["plan"]["format_version"] == 2
    assert "Apply complete!" in r.stderr  # the human lines went to stderr

    r = run_cli(proj, "diff", "--json", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    assert document(r.stdout)["has_differences"] is False

    path = proj / "assistants/order-helper.yaml"
    path.write_text(path.read_text().replace("model: gpt-4o", "model: gpt-4o-mini"))
    r = run_cli(proj, "diff", "--json", *target)
    assert r.returncode == CHANGES, r.stdout + r.stderr
    diffed = document(r.stdout)
    assert diffed["format_version"] == 1 and diffed["has_differences"] is True
    (difference,) = diffed["differences"]
    assert difference["label"] == "order-helper" and difference["action"] == "update"
    assert {"field": "model", "before": "gpt-4o", "after": "gpt-4o-mini"}.items() <= (
        difference["diffs"][0].items()
    )

    r = run_cli(proj, "test", "--allow-drift", "--json", "-", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    report = document(r.stdout)
    assert report["format_version"] == 1
    assert report["summary"]["passed"] == 1 and report["summary"]["exit_code"] == 0
    assert "1 scenario run: 1 passed" in r.stderr

    r = run_cli(proj, "destroy", "--yes", "--json", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    destroyed = document(r.stdout)
    assert destroyed["format_version"] == 1 and destroyed["failures"] == []
    assert [(d["kind"], d["label"]) for d in destroyed["destroyed"]] == [
        ("assistant", "order-helper")
    ]

    r = run_cli(proj, "destroy", "--yes", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Nothing to destroy: namespace {ns!r} on" in r.stdout
    assert "manages no objects" in r.stdout
    r = run_cli(proj, "destroy", "--yes", "--json", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    assert document(r.stdout)["destroyed"] == []
