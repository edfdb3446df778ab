"""`orchestrator validate` as users run it: a real process, its output and exit code."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.support import ROOT
from tests.support.cli import run_cli
from tests.support.project_files import write_project

LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): (?P<msg>.+)$"
)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, *args, timeout=60)


def test_examples_are_valid() -> None:
    r = run("validate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.fullmatch(r"OK: \d+ assistants, \d+ scenarios valid", r.stdout.strip()), r.stdout


def test_paths_limit_the_check() -> None:
    r = run("validate", "scenarios/quiz-feedback.yaml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "OK: 1 assistant, 1 scenario valid"


BROKEN = {
    "assistants/tutor.yaml": """\
        kind: Assistant
        model: gpt-4o
        temprature: 0.2
        tools: [retrieval]
        """,
    "assistants/bad.yaml": "kind: Assistant\nmodel: [gpt-4o\n",
    "scenarios/s.yaml": "kind: Scenario\nassistant: tutr\nturns: [{user: hi}]\n",
    "assistants/docs/x.bin": "data",
    "assistants/store.yaml": "kind: Assistant\nmodel: m\nfiles: {file_search: [docs/x.bin]}\n",
}


def test_problems_are_listed_one_per_line_then_exit_1(tmp_path: Path) -> None:
    write_project(tmp_path, BROKEN)
    r = run("validate", cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    *lines, summary = r.stdout.strip().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    found = {(m["path"], int(m["line"]), m["sev"]) for m in parsed if m}
    assert ("assistants/tutor.yaml", 3, "error") in found  # temprature
    assert ("assistants/tutor.yaml", 4, "error") in found  # retrieval
    assert ("assistants/bad.yaml", 3, "error") in found  # YAML syntax
    assert ("scenarios/s.yaml", 2, "error") in found  # unknown assistant
    assert ("assistants/store.yaml", 3, "warning") in found  # not indexable, no file_search tool
    assert summary == "4 errors, 2 warnings in 3 files"
    assert "\x1b[" not in r.stdout  # no colours when not on a terminal


def test_json_output(tmp_path: Path) -> None:
    write_project(tmp_path, BROKEN)
    r = run("validate", "--json", cwd=tmp_path)
    assert r.returncode == 1
    problems = json.loads(r.stdout)
    assert {tuple(sorted(p)) for p in problems} == {
        ("column", "line", "message", "path", "severity")
    }
    tutor = [p for p in problems if p["path"] == "assistants/tutor.yaml"]
    assert tutor[0] == {
        "path": "assistants/tutor.yaml",
        "line": 3,
        "column": 1,
        "severity": "error",
        "message": "unknown field 'temprature' in Assistant; did you mean 'temperature'?",
    }


def test_project_option_and_colours_on_request(tmp_path: Path) -> None:
    write_project(tmp_path / "proj", BROKEN)
    r = run("--color", "validate", "-C", str(tmp_path / "proj"), cwd=tmp_path)
    assert r.returncode == 1
    assert "proj/assistants/tutor.yaml:3:1: \x1b[31m\x1b[1merror\x1b[0m: unknown field" in r.stdout


def test_a_clean_project_with_warnings_passes(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"assistants/store.yaml": BROKEN["assistants/store.yaml"], "assistants/docs/x.bin": "d"},
    )
    r = run("validate", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.strip().splitlines()[-1] == "OK: 1 assistant, 0 scenarios valid (2 warnings)"
