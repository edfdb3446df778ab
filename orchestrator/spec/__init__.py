"""Assistant and scenario definitions: YAML -> typed specs, with every problem reported.

- :func:`find_project_root` — the folder a command works in.
- :func:`load_project` — orchestrator.yaml plus every ``kind: Assistant`` / ``Scenario``
  (and ``Cassette``) file, as a :class:`~orchestrator.spec.models.Project` holding typed
  specs and all diagnostics. It never raises for a user's mistake.
- :func:`load_schema` — the JSON Schema of a YAML kind.
"""

from __future__ import annotations

from orchestrator.spec.models import (
    AssistantSpec,
    Diagnostic,
    Location,
    Project,
    ProjectConfig,
    ScenarioSpec,
    TurnSpec,
)
from orchestrator.spec.project import PROJECT_FILE, find_project_root, load_project
from orchestrator.spec.schema_check import load_schema

__all__ = [
    "PROJECT_FILE",
    "AssistantSpec",
    "Diagnostic",
    "Location",
    "Project",
    "ProjectConfig",
    "ScenarioSpec",
    "TurnSpec",
    "find_project_root",
    "load_project",
    "load_schema",
]
