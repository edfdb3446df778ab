"""Rendering a loaded project's diagnostics: the one-line summary ``validate`` prints."""

from __future__ import annotations

from orchestrator.project.specs import Project


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(project: Project) -> str:
    """``OK: 3 assistants, 4 scenarios (1 warning)`` or ``2 errors, 1 warning in 2 files``."""
    errors = sum(d.severity == "error" for d in project.diagnostics)
    warnings = len(project.diagnostics) - errors
    if errors:
        files = len({d.location.path for d in project.diagnostics if d.severity == "error"})
        counts = _n(errors, "error") + (f", {_n(warnings, 'warning')}" if warnings else "")
        return f"{counts} in {_n(files, 'file')}"
    extra = f" ({_n(warnings, 'warning')})" if warnings else ""
    return (
        f"OK: {_n(len(project.assistants), 'assistant')}, "
        f"{_n(len(project.scenarios), 'scenario')} valid{extra}"
    )
