"""Helpers for the spec/validate tests: throwaway projects on disk and diagnostic lookups."""

from __future__ import annotations

import textwrap
from pathlib import Path

from orchestrator.project import Project, load_project
from orchestrator.project.specs import Diagnostic

DISPLAY_QUIZ = """\
{
  "name": "display_quiz",
  "description": "Displays a quiz and returns the answers.",
  "parameters": {
    "type": "object",
    "properties": {
      "title": {"type": "string"},
      "questions": {"type": "array", "items": {"type": "string"}}
    },
    "required": ["title", "questions"]
  }
}
"""

GOOD_ASSISTANT = """\
kind: Assistant
key: quiz
model: gpt-4o
tools:
  - file_search
  - function: functions/display_quiz.json
files:
  file_search: [docs/*.md]
"""


def write_project(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (path -> text, dedented; or raw bytes) under ``root``; a git root."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def load(root: Path, files: dict[str, str | bytes], env: dict[str, str] | None = None) -> Project:
    write_project(root, files)
    return load_project(root, environ=env or {})


def diagnostic_at(project: Project, rel: str, line: int, needle: str) -> Diagnostic | None:
    """The diagnostic at ``rel:line`` whose message contains ``needle``, if there is one."""
    root = project.config.root
    for d in project.diagnostics:
        if d.display_path(root) == rel and d.location.line == line and needle in d.message:
            return d
    return None


def listing(project: Project) -> str:
    """Every diagnostic, one per line: the message of a failed ``assert diagnostic_at``."""
    root = project.config.root
    return "\n".join(d.format(root) for d in project.diagnostics) or "(no diagnostics)"


def find(project: Project, rel: str, line: int, needle: str) -> Diagnostic:
    """Like :func:`diagnostic_at`, for tests that go on to check the diagnostic itself."""
    found = diagnostic_at(project, rel, line, needle)
    assert found is not None, (
        f"no diagnostic at {rel}:{line} containing {needle!r}; got:\n{listing(project)}"
    )
    return found


def errors(project: Project) -> list[str]:
    root = project.config.root
    return [d.format(root) for d in project.diagnostics if d.severity == "error"]
