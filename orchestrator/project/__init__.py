"""Assistant and scenario definitions: YAML -> typed specs, with every problem reported.

- :func:`find_project_root` — the folder a command works in.
- :func:`load_project` — orchestrator.yaml plus every ``kind: Assistant`` / ``Scenario``
  (and ``Cassette``) file, as a :class:`~orchestrator.project.specs.Project` holding typed
  specs and all diagnostics. It never raises for a user's mistake.
- :func:`load_project_config` — only orchestrator.yaml (``serve``).
- :func:`load_schema` — the JSON Schema of a YAML kind.
"""

from __future__ import annotations

from orchestrator.project.loader import (
    PROJECT_FILE,
    find_project_root,
    load_project,
    load_project_config,
)
from orchestrator.project.schema_check import load_schema
from orchestrator.project.specs import (
    AssistantSpec,
    Diagnostic,
    Location,
    Project,
    ProjectConfig,
    ScenarioSpec,
    TurnSpec,
)

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
    "load_project_config",
    "load_schema",
]
