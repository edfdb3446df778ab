"""What `orchestrator export` prints: the files written and the assistants, by kind."""

from __future__ import annotations

from pathlib import Path

from orchestrator.reconcile.export import ExportReport


def _show(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def render_export(report: ExportReport, root: Path, out: Path) -> str:
    lines = [f"wrote {_show(p, root)}" for p in report.written]
    if not report.assistants:
        lines.append("No assistants to export (nothing on the server for this namespace).")
        return "\n".join(lines)
    for managed, title in (
        (True, "Managed in this namespace"),
        (False, "Unmanaged (to adopt: orchestrator plan --adopt, then apply --adopt)"),
    ):
        group = [a for a in report.exported if a.managed == managed]
        if not group:
            continue
        lines.append(f"{title}:")
        for a in group:
            note = " (unchanged)" if a.status == "unchanged" else ""
            lines.append(f"  {_show(a.path, root)}  <- {a.id}{note}")
    n = len(report.exported)
    text = f"Exported {n} assistant{'s' if n != 1 else ''} to {out}"
    if report.skipped:
        text += f"; {len(report.skipped)} skipped (see the warnings)"
    lines.append(text + ".")
    return "\n".join(lines)
