"""Field-level differences between a server object and the YAML.

Text (instructions) differs as a unified diff; structures (tools, schemas, metadata)
as a list of paths that were added, removed or changed, so a reviewer sees
``tools.function:display_quiz.parameters.properties.title.type: "string" -> "number"``
rather than two JSON blobs.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

DiffKind = Literal["scalar", "text", "structure"]


@dataclass
class FieldDiff:
    field: str
    kind: DiffKind
    before: Any
    after: Any
    # Rendered detail: unified diff lines (text) or "+/-/~ path: value" lines (structure).
    lines: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "lines": self.lines,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldDiff:
        return cls(
            field=data["field"],
            kind=data["kind"],
            before=data.get("before"),
            after=data.get("after"),
            lines=list(data.get("lines") or []),
        )


def show(value: Any) -> str:
    """A compact one-line JSON rendering of a value."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


def text_diff(name: str, before: str | None, after: str | None, *, label: str = "") -> FieldDiff:
    lines = list(
        difflib.unified_diff(
            (before or "").splitlines(),
            (after or "").splitlines(),
            fromfile="server",
            tofile=label or "desired",
            lineterm="",
            n=2,
        )
    )
    return FieldDiff(name, "text", before, after, lines)


def scalar_diff(name: str, before: Any, after: Any) -> FieldDiff:
    return FieldDiff(name, "scalar", before, after, [f"~ {show(before)} -> {show(after)}"])


def _walk(path: str, a: Any, b: Any, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in a:
                out.append(f"+ {sub}: {show(b[k])}")
            elif k not in b:
                out.append(f"- {sub}: {show(a[k])}")
            else:
                _walk(sub, a[k], b[k], out)
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            sub = f"{path}[{i}]"
            if i >= len(a):
                out.append(f"+ {sub}: {show(b[i])}")
            elif i >= len(b):
                out.append(f"- {sub}: {show(a[i])}")
            else:
                _walk(sub, a[i], b[i], out)
        return
    if a != b:
        out.append(f"~ {path or '.'}: {show(a)} -> {show(b)}")


def structure_diff(name: str, before: Any, after: Any) -> FieldDiff:
    lines: list[str] = []
    _walk("", before, after, lines)
    return FieldDiff(name, "structure", before, after, lines)


def tool_label(tool: dict[str, Any]) -> str:
    if tool.get("type") == "function":
        return f"function:{(tool.get('function') or {}).get('name')}"
    return str(tool.get("type"))


def tools_diff(name: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> FieldDiff:
    """Tools compared by identity (functions by name), then structurally, then by order."""
    a = {tool_label(t): t for t in before}
    b = {tool_label(t): t for t in after}
    lines: list[str] = []
    _walk("", a, b, lines)
    if not lines and list(a) != list(b):
        lines.append(f"~ order: {show(list(a))} -> {show(list(b))}")
    return FieldDiff(name, "structure", before, after, lines)
