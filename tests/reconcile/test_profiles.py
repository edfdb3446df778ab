"""Responses profiles: each assistant as the `responses.create` parameters it stands for."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from orchestrator.project import load_project
from orchestrator.project.schema_check import load_schema
from orchestrator.reconcile.lockfile import LockedAssistant, LockFile, with_profiles
from tests.support import ROOT
from tests.support.project_files import DISPLAY_QUIZ, load

STRUCTURED = """\
kind: Assistant
key: grader
model: gpt-5
agent: true
instructions: Grade the answer.
top_p: 0.5
reasoning_effort: high
response_format:
  type: json_schema
  json_schema:
    name: grade
    strict: true
    schema:
      type: object
      properties: {score: {type: integer}}
      required: [score]
      additionalProperties: false
tools:
  - function: functions/display_quiz.json
"""


def _lock() -> LockFile:
    """The example project's ids, as an apply would have recorded them."""
    return LockFile(
        namespace="default",
        target="embedded",
        assistants={
            "math-tutor": LockedAssistant(id="asst_1"),
            "math-tutor-code": LockedAssistant(id="vs_record"),
        },
        vector_stores={"course-notes": {"id": "vs_notes", "file_ids": ["file-n"]}},
        files={
            "assistants/data/quiz-scores.csv": {"id": "file-csv", "sha256": "0" * 64},
            "assistants/docs/geometry.md": {"id": "file-n", "sha256": "1" * 64},
        },
    )


def test_the_example_project_profiles_resolve_every_reference() -> None:
    project = load_project(ROOT)
    lock = with_profiles(_lock(), project.assistants, "assistants")
    p = lock.profiles
    assert sorted(p) == sorted(a.key for a in project.assistants)
    quiz = p["quiz-generator"]["request"]
    assert quiz["model"] == "gpt-4o" and quiz["temperature"] == 0.2
    assert quiz["instructions"].startswith(
        (ROOT / "assistants/prompts/quiz-generator.md").read_text()[:20]
    )
    fs, fn = quiz["tools"]
    assert fs == {"type": "file_search", "vector_store_ids": ["vs_notes"], "max_num_results": 5}
    display = json.loads((ROOT / "assistants/functions/display_quiz.json").read_text())
    assert fn == {"type": "function", **display, "strict": False}
    code = p["math-tutor-code"]["request"]["tools"]
    assert code == [
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-csv"]}}
    ]
    # On the Assistants target, no agents: every assistant keeps its object.
    assert {k: a.id for k, a in lock.assistants.items()} == {
        "math-tutor": "asst_1",
        "math-tutor-code": "vs_record",
    }
    assert all(v["agent_id"] is None for v in p.values())
    Draft202012Validator(load_schema("LockFile")).validate(lock.to_json())


def test_on_openai_only_agents_stay_assistants_and_profiles_name_them(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        {
            "assistants/grader.yaml": STRUCTURED,
            "assistants/functions/display_quiz.json": DISPLAY_QUIZ,
        },
    )
    assert project.ok, project.diagnostics
    lock = LockFile(namespace="default", assistants={"grader": LockedAssistant(id="agent_9")})
    lock = with_profiles(lock, project.assistants, "openai")
    doc = lock.to_json()
    Draft202012Validator(load_schema("LockFile")).validate(doc)
    assert doc["api"] == "openai" and doc["format_version"] == 2
    assert doc["profiles"]["grader"] == {
        "agent_id": "agent_9",
        "request": {
            "model": "gpt-5",
            "instructions": "Grade the answer.",
            "tools": [{"type": "function", **json.loads(DISPLAY_QUIZ), "strict": False}],
            "top_p": 0.5,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "grade",
                    "schema": {
                        "type": "object",
                        "properties": {"score": {"type": "integer"}},
                        "required": ["score"],
                        "additionalProperties": False,
                    },
                    "strict": True,
                }
            },
            "reasoning": {"effort": "high"},
        },
    }
    # Read back as written.
    assert LockFile.from_json(doc).profiles == lock.profiles
