"""Plans and diffs on the terminal: Terraform-like, colours only where wanted.

Functions return text with ANSI styles from :func:`click.style`; ``click.echo`` strips
them when the output is not a terminal (or ``--no-color``), so there is one code path.
"""

from __future__ import annotations

import difflib
from typing import Any

import click
import yaml

from orchestrator.reconcile.fielddiff import FieldDiff
from orchestrator.reconcile.plan import Change, Plan

SYMBOL = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("-/+", "magenta"),
    "delete": ("-", "red"),
    "adopt": ("<=", "cyan"),
    "blocked": ("!", "red"),
    "orphan": ("=", "blue"),
    "noop": (" ", None),
}

WHAT = {
    "create": "will be created",
    "update": "will be updated in place",
    "replace": "must be replaced",
    "delete": "will be destroyed",
    "adopt": "will be adopted (taken under management)",
    "blocked": "cannot be created",
    "orphan": "left the YAML and will be kept",
    "noop": "is up to date",
}


def style(text: str, color: str | None, **kw: Any) -> str:
    return click.style(text, fg=color, **kw) if color else text


def _diff_line(line: str) -> str:
    if line.startswith(("+++", "---")):
        return style(line, None, bold=True)
    if line.startswith("@@"):
        return style(line, "cyan")
    if line.startswith("+"):
        return style(line, "green")
    if line.startswith("-"):
        return style(line, "red")
    if line.startswith("~"):
        return style(line, "yellow")
    return line


def _noun(c: Change) -> str:
    return {
        "file": "file",
        "vector_store": "vector store",
        "assistant": "assistant",
        "journal": "journal",
    }[c.kind]


def render_change(c: Change) -> list[str]:
    symbol, color = SYMBOL[c.action]
    what = WHAT[c.action]
    if c.kind == "file" and c.action == "create":
        what = "will be uploaded"
    elif c.kind == "journal":
        what = "will be cleared"
    comment = f"  # {_noun(c)} {c.label!r} {what}"
    if c.drift:
        comment += ", it was changed on the server (drift)"
    elif c.reason and c.action != "blocked":
        comment += f" ({c.reason})"
    out = [style(comment, None, dim=True)]
    ident = f" [{c.id}]" if c.id else ""
    head = f"  {symbol} {c.kind} {c.label!r}{ident}"
    if c.kind == "file" and c.file is not None:
        head += f"  (as {c.file.upload_name}, {_size(c.file.size)}, sha256 {c.file.sha256[:16]})"
    out.append(style(head, color, bold=True))
    if c.action == "blocked" and c.reason:
        out.append(style(f"      {c.reason}", "red"))
    for d in c.diffs:
        out.extend(render_field(d))
    return out


def render_field(d: FieldDiff) -> list[str]:
    if d.kind == "scalar" and len(d.lines) == 1:
        color = "green" if d.lines[0].startswith("+") else "yellow"
        return [f"      {d.field}: " + style(d.lines[0][2:], color)]
    out = [f"      {d.field}:"]
    out.extend("        " + _diff_line(line) for line in d.lines)
    return out


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def render_plan(plan: Plan, *, where: str = "") -> str:
    lines: list[str] = []
    shown = [c for c in plan.changes if c.action != "noop"]
    unchanged = sum(c.action == "noop" for c in plan.changes)
    header = f'Namespace "{plan.namespace}"' + (f" on {where}" if where else "")
    lines.append(style(header, None, bold=True))
    if not plan.has_changes and not plan.blocked:
        lines.append("")
        lines.append(
            style("No changes.", "green", bold=True)
            + f" The server matches the YAML ({unchanged} object{'s' if unchanged != 1 else ''} up to date)."
        )
    else:
        lines.append("")
        lines.append("Orchestrator will perform the following actions:")
    for c in shown:
        lines.append("")
        lines.extend(render_change(c))
    if plan.has_changes or plan.blocked:
        lines.append("")
        if unchanged:
            lines.append(
                style(
                    f"{unchanged} object{'s' if unchanged != 1 else ''} unchanged.", None, dim=True
                )
            )
        lines.append(style(plan.counts().summary(), None, bold=True))
    for w in plan.warnings:
        lines.append(style("Warning: ", "yellow", bold=True) + w)
    return "\n".join(lines)


def _yaml(value: Any) -> list[str]:
    if isinstance(value, str) and "\n" in value:
        return value.splitlines()
    text = yaml.safe_dump(value, allow_unicode=True, sort_keys=True, default_flow_style=False)
    return text.rstrip("\n").removesuffix("...").rstrip("\n").splitlines()


def render_diff(plan: Plan) -> str:
    """Unified diffs per object (kubectl-diff-like): server on the left, YAML on the right."""
    out: list[str] = []
    for c in plan.changes:
        if c.action in ("noop",):
            continue
        title = f"{_noun(c)} {c.label}" + (f" [{c.id}]" if c.id else "")
        tag = " (drift: changed on the server)" if c.drift else ""
        if c.action == "create":
            tag = " (not on the server)"
        elif c.action in ("delete", "orphan"):
            tag = f" ({c.reason})" if c.reason else " (not in the YAML)"
        elif c.action == "blocked":
            tag = f" ({c.reason})"
        out.append(style(f"diff {title}{tag}", None, bold=True))
        if not c.diffs:
            continue
        out.append(_diff_line("--- server"))
        out.append(_diff_line("+++ desired"))
        for d in c.diffs:
            out.append(_diff_line(f"@@ {d.field} @@"))
            if d.kind == "text":
                body = d.lines[2:] if len(d.lines) > 2 else d.lines
                out.extend(_diff_line(line) for line in body)
                continue
            before = _yaml(d.before) if d.before is not None else []
            after = _yaml(d.after) if d.after is not None else []
            for line in difflib.ndiff(before, after):
                if line.startswith("?"):
                    continue
                out.append(_diff_line(line[0] + line[2:] if line[0] in "+-" else " " + line[2:]))
    if not out:
        return style("No differences.", "green", bold=True)
    return "\n".join(out)
