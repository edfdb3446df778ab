"""JSON on stdout: the one text form every ``--json`` uses, and the YAML's problems in the
shape ``validate --json`` prints (also what ``plan --json`` prints when the YAML is bad).

Kept apart from :mod:`.json_reports` so `validate` loads neither the SDK nor the reconciler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.project import Project


def dumps(data: Any) -> str:
    """Indented UTF-8 JSON (without a trailing newline: ``click.echo`` adds it)."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def diagnostics(project: Project, cwd: Path) -> list[dict[str, Any]]:
    """The project's problems: a list of {path, line, column, severity, message}."""
    return [d.to_dict(cwd) for d in project.diagnostics]
