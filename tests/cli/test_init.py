"""`orchestrator init` as a new user runs it: a real process in an empty folder, then the
project it made validated, applied and tested on the embedded target."""

from __future__ import annotations

import fnmatch
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import orchestrator
from tests.support.cli import run_cli

SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


@pytest.mark.integration
def test_init_then_validate_apply_test_are_green(tmp_path: Path) -> None:
    r = run_cli(tmp_path, "init", "proj", "--ci", "github")
    assert r.returncode == 0, r.stdout + r.stderr
    proj = tmp_path / "proj"
    assert (proj / "orchestrator.yaml").is_file()
    assert ".orchestrator/" in (proj / ".gitignore").read_text().splitlines()

    r = run_cli(proj, "validate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "OK: 1 assistant, 1 scenario valid\n", r.stdout

    r = run_cli(proj, "apply", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "order-helper" in r.stdout + r.stderr

    r = run_cli(proj, "test", "--junit", "reports/junit.xml")
    assert r.returncode == 0, r.stdout + r.stderr
    suite = ET.parse(proj / "reports" / "junit.xml").getroot()
    cases = suite.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["order status"]
    assert not cases[0].findall("failure") and not cases[0].findall("error")

    r = run_cli(proj, "plan", "--detailed-exitcode")
    assert r.returncode == 0, r.stdout + r.stderr


def test_github_workflow_has_the_ci_jobs(tmp_path: Path) -> None:
    r = run_cli(tmp_path, "init", "--ci", "github")
    assert r.returncode == 0, r.stdout + r.stderr
    workflow = yaml.safe_load((tmp_path / ".github/workflows/assistants.yml").read_text())
    # YAML 1.1 reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert set(triggers) == {"push", "pull_request"}
    jobs = workflow["jobs"]
    assert set(jobs) == {"check", "plan", "apply"}

    def commands(job: str) -> str:
        return "\n".join(step.get("run", "") for step in jobs[job]["steps"])

    assert "orchestrator --no-color validate" in commands("check")
    assert "test --junit reports/junit.xml" in commands("check")
    upload = [s for s in jobs["check"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert upload and upload[0]["if"] == "always()"
    assert upload[0]["with"]["path"] == "reports/junit.xml"

    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert "plan --detailed-exitcode" in commands("plan")
    assert jobs["apply"]["if"] == ("github.event_name == 'push' && github.ref == 'refs/heads/main'")
    assert "apply --yes" in commands("apply")
    for job in ("plan", "apply"):
        assert jobs[job]["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
        assert jobs[job]["needs"] == "check"
    assert workflow["env"]["ORCHESTRATOR_PACKAGE"] == (
        f"assistant-orchestrator=={orchestrator.__version__}"
    )


def test_schema_lines_point_at_the_packaged_schemas(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "init").returncode == 0
    yamls = sorted(tmp_path.rglob("*.yaml"))
    assert len(yamls) == 3
    packaged = Path(orchestrator.__file__).parent / "schemas"
    for path in yamls:
        match = SCHEMA_LINE.search(path.read_text())
        assert match, f"{path} has no $schema line"
        target = (path.parent / match.group(1)).resolve()
        assert target.read_text() == (packaged / target.name).read_text(), path
    assert not (tmp_path / ".github").exists()


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "order-status.yaml").write_text("mine\n")
    r = run_cli(tmp_path, "init", "--ci", "github")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "scenarios/order-status.yaml already exists" in r.stderr
    assert "never overwrites" in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["order-status.yaml", "scenarios"]
    assert (tmp_path / "scenarios" / "order-status.yaml").read_text() == "mine\n"


def test_existing_gitignore_gets_the_entry_appended(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/")
    r = run_cli(tmp_path, "init")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n.orchestrator/\n"
    assert f"updated {tmp_path / '.gitignore'}" in r.stdout or "updated .gitignore" in r.stdout


def test_init_into_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    r = run_cli(tmp_path, "init", "f")
    assert r.returncode == 1
    assert "f exists and is not a folder" in r.stderr


def test_the_templates_ship_in_the_wheel() -> None:
    tomllib = pytest.importorskip("tomllib")
    package = Path(orchestrator.__file__).parent
    # The checkout's pyproject (the suite runs on an editable install).
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["orchestrator"]
    templates = sorted(p for p in (package / "project" / "templates").iterdir() if p.is_file())
    assert len(templates) == 6
    for path in templates:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
