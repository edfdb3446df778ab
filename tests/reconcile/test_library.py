"""The reconciler as a library: the flow the package docstring shows, on the example project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.project import load_project
from orchestrator.reconcile import Api, content_from_memory, desired_state, workflow
from orchestrator.settings import resolve_settings
from orchestrator.targets import connect
from tests.support import ROOT


@pytest.mark.integration
def test_library_flow_converges_on_the_example_project(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for part in ("assistants", "scenarios", "orchestrator.yaml"):
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / part)
    project = load_project(tmp_path)
    assert project.ok, project.diagnostics
    settings = resolve_settings(project.config)
    desired = desired_state(project, settings.namespace)
    with connect(settings.target) as client:
        api = Api(client)
        first = workflow.plan(api, desired)
        assert first.has_changes
        contents = {sha: f.content or b"" for sha, f in desired.files.items()}
        outcome = workflow.apply(api, first, content_from_memory(contents), desired=desired)
        counts = outcome.counts()
        assert counts.added == sum(c.action == "create" for c in first.changes) > 0
        assert counts.changed == counts.destroyed == 0
        assert not outcome.result.failures
        again = workflow.plan(api, desired)
        assert not again.has_changes
        keys = {a.metadata.get("orchestrator-key") for a in client.beta.assistants.list()}
        assert {"math-tutor", "math-tutor-code", "quiz-generator"} <= keys
