"""``kind: Scenario`` documents -> :class:`ScenarioSpec`.

``TurnSpec.expect`` keeps the schema's vocabulary but in one canonical shape, so the
runner has a single form to read:

- ``tool_calls`` is always the object form ``{calls: [...], order?, not?, count?}``;
- every expected call (in ``calls`` and ``not``) is ``{function_name: {arg: matcher}}``
  (``{}`` for "any arguments");
- ``reply`` is always a mapping (a plain string means ``{contains: string}``).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.project.diagnostics import Diagnostics
from orchestrator.project.documents import Document, PathKey, read_text
from orchestrator.project.paths import PathResolver
from orchestrator.project.specs import AttachmentSpec, Location, ScenarioSpec, TurnSpec


@dataclass
class LoadedScenario:
    spec: ScenarioSpec
    doc: Document
    related: set[Path] = field(default_factory=set)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _call(entry: Any) -> dict[str, Any]:
    if isinstance(entry, str):
        return {entry: {}}
    if isinstance(entry, dict):
        return {name: dict(args) if isinstance(args, dict) else {} for name, args in entry.items()}
    return {}


def normalise_expect(raw: Any) -> dict[str, Any]:
    """``expect:`` in its canonical shape (see the module docstring)."""
    if not isinstance(raw, dict):
        return {}
    out = copy.deepcopy(raw)
    calls = out.get("tool_calls")
    if isinstance(calls, list):
        calls = {"calls": calls}
    if isinstance(calls, dict):
        calls["calls"] = [_call(c) for c in _list(calls.get("calls"))]
        if "not" in calls:
            calls["not"] = [_call(c) for c in _list(calls.get("not"))]
        out["tool_calls"] = calls
    if isinstance(out.get("reply"), str):
        out["reply"] = {"contains": out["reply"]}
    return out


def function_references(doc: Document) -> Iterator[tuple[str, Location, str]]:
    """Every function name the scenario mentions: (name, where, in what role)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    mocks = data.get("mocks")
    if isinstance(mocks, dict):
        for name in mocks:
            yield str(name), doc.key_loc(("mocks", name)), "mocks"
    turns = data.get("turns")
    for i, turn in enumerate(turns if isinstance(turns, list) else []):
        if not isinstance(turn, dict):
            continue
        choice = turn.get("tool_choice")
        if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            name = choice["function"].get("name")
            if isinstance(name, str):
                yield name, doc.loc(("turns", i, "tool_choice", "function", "name")), "tool_choice"
        expect = turn.get("expect")
        calls = expect.get("tool_calls") if isinstance(expect, dict) else None
        base: PathKey = ("turns", i, "expect", "tool_calls")
        lists: list[tuple[PathKey, Any]] = []
        if isinstance(calls, list):
            lists.append((base, calls))
        elif isinstance(calls, dict):
            lists += [((*base, k), calls.get(k)) for k in ("calls", "not")]
            count = calls.get("count")
            if isinstance(count, dict):
                for name in count:
                    yield str(name), doc.key_loc((*base, "count", name)), "expect.tool_calls.count"
        for path, entries in lists:
            for j, entry in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(entry, str):
                    yield entry, doc.loc((*path, j)), "expect.tool_calls"
                elif isinstance(entry, dict):
                    for name in entry:
                        yield str(name), doc.key_loc((*path, j, name)), "expect.tool_calls"


class ScenarioBuilder:
    def __init__(self, doc: Document, resolver: PathResolver, diags: Diagnostics) -> None:
        self.doc = doc
        self.resolver = resolver
        self.diags = diags
        self.base = doc.path.parent
        self.related: set[Path] = set()

    def build(self) -> LoadedScenario:
        doc, data = self.doc, self.doc.data
        name = data.get("name") if isinstance(data.get("name"), str) else doc.path.stem
        timeout = data.get("timeout")
        spec = ScenarioSpec(
            name=name,
            source=doc.loc(),
            assistant=data.get("assistant") if isinstance(data.get("assistant"), str) else "",
            turns=self._turns(data.get("turns")),
            handlers=self._handlers(data.get("handlers")),
            mocks=copy.deepcopy(data["mocks"]) if isinstance(data.get("mocks"), dict) else {},
            vars=copy.deepcopy(data["vars"]) if isinstance(data.get("vars"), dict) else {},
            timeout=float(timeout)
            if isinstance(timeout, int | float) and not isinstance(timeout, bool)
            else None,
            tags=[t for t in data.get("tags") or [] if isinstance(t, str)]
            if isinstance(data.get("tags"), list)
            else [],
        )
        if isinstance(data.get("description"), str):
            spec.description = data["description"]
        return LoadedScenario(spec, doc, self.related)

    def _handlers(self, handlers: Any) -> list[Path]:
        out: list[Path] = []
        for i, written in enumerate(handlers if isinstance(handlers, list) else []):
            if not isinstance(written, str) or not written:
                continue
            loc = self.doc.loc(("handlers", i))
            path = self.resolver.file(self.base, written, loc, "handler module")
            if path is None:
                continue
            if path.suffix != ".py":
                self.diags.error(loc, f"handler module '{written}' must be a Python file (.py)")
                continue
            self.related.add(path)
            text = read_text(path, self.diags, "handler module")
            if text is None:
                continue
            try:
                ast.parse(text, filename=str(path))
            except SyntaxError as e:
                self.diags.error(
                    Location(path, e.lineno or 1, e.offset or 1),
                    f"handler module has a Python syntax error: {e.msg}",
                )
                continue
            out.append(path)
        return out

    def _turns(self, turns: Any) -> list[TurnSpec]:
        out: list[TurnSpec] = []
        for i, turn in enumerate(turns if isinstance(turns, list) else []):
            if not isinstance(turn, dict) or not isinstance(turn.get("user"), str):
                continue
            timeout = turn.get("timeout")
            out.append(
                TurnSpec(
                    user=turn["user"],
                    source=self.doc.loc(("turns", i)),
                    attachments=self._attachments(
                        turn.get("attachments"), ("turns", i, "attachments")
                    ),
                    additional_instructions=turn.get("additional_instructions")
                    if isinstance(turn.get("additional_instructions"), str)
                    else None,
                    tool_choice=copy.deepcopy(turn.get("tool_choice")),
                    timeout=float(timeout)
                    if isinstance(timeout, int | float) and not isinstance(timeout, bool)
                    else None,
                    expect=normalise_expect(turn.get("expect")),
                )
            )
        return out

    def _attachments(self, items: Any, path: PathKey) -> list[AttachmentSpec]:
        out: list[AttachmentSpec] = []
        for j, item in enumerate(items if isinstance(items, list) else []):
            tools: list[Any] = ["code_interpreter"]
            if isinstance(item, str):
                written, loc = item, self.doc.loc((*path, j))
            elif isinstance(item, dict) and isinstance(item.get("path"), str):
                written, loc = item["path"], self.doc.loc((*path, j, "path"))
                if isinstance(item.get("tools"), list) and item["tools"]:
                    tools = [t for t in item["tools"] if t in ("code_interpreter", "file_search")]
            else:
                continue
            file = self.resolver.file(self.base, written, loc, "attachment")
            ref = self.resolver.read(file, loc, "attachment") if file else None
            if ref is not None:
                self.related.add(ref.path)
                out.append(AttachmentSpec(file=ref, tools=tools))
        return out


def build_scenario(
    doc: Document, resolver: PathResolver, diags: Diagnostics
) -> LoadedScenario | None:
    if not isinstance(doc.data, dict):
        return None
    return ScenarioBuilder(doc, resolver, diags).build()
