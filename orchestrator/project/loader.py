"""Loading a whole project: orchestrator.yaml, every definition file, and the cross-file rules.

:func:`load_project` never raises for a user's mistake: it returns what it could load
and every problem it found (``Project.diagnostics``), so ``validate`` prints them all
at once and the other commands refuse to run while any is an error.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.project import schema_check
from orchestrator.project.assistants import LoadedAssistant, build_assistant
from orchestrator.project.diagnostics import Diagnostics, did_you_mean
from orchestrator.project.documents import Document, parse_yaml, read_text
from orchestrator.project.paths import PathResolver, is_glob
from orchestrator.project.scenarios import LoadedScenario, build_scenario, function_references
from orchestrator.project.specs import (
    Diagnostic,
    Location,
    Project,
    ProjectConfig,
    ServerSettings,
)
from orchestrator.project.variables import interpolate, project_environment

PROJECT_FILE = "orchestrator.yaml"
KINDS = ("Assistant", "Scenario", "Cassette")
YAML_SUFFIXES = (".yaml", ".yml")
_SKIP_DIRS = {"node_modules", "__pycache__", "venv"}


def find_project_root(start: Path) -> Path:
    """The nearest folder up from ``start`` with orchestrator.yaml, else a git root, else ``start``."""
    start = start.resolve()
    folders = [start, *start.parents]
    for d in folders:
        if (d / PROJECT_FILE).is_file():
            return d
    for d in folders:
        if (d / ".git").exists():
            return d
    return start


@dataclass
class _Loaded:
    """Everything read during one load, before selection."""

    assistants: list[LoadedAssistant] = field(default_factory=list)
    scenarios: list[LoadedScenario] = field(default_factory=list)
    cassettes: list[Document] = field(default_factory=list)
    # Files without `kind:` (reported unless an assistant uses them as data).
    kindless: list[Document] = field(default_factory=list)


def _yaml_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        out += [
            Path(dirpath) / f
            for f in filenames
            if f.endswith(YAML_SUFFIXES) and not f.startswith(".")
        ]
    return sorted(out)


# `server:` keys by the type their value must have (the schema reports wrong ones).
_SERVER_TEXT = ("upstream_base_url", "upstream_api_key", "upstream_tool_call_format")
_SERVER_NUMBERS = ("upstream_timeout", "sandbox_timeout")
_SERVER_INTEGERS = (
    "upstream_max_retries",
    "upstream_max_tool_rounds",
    "run_expiry_seconds",
    "max_concurrent_runs",
    "sandbox_memory_mb",
)


def _server_settings(server: dict[str, Any]) -> ServerSettings:
    s = ServerSettings()
    if server.get("model_provider") in ("local", "chat"):
        s.model_provider = server["model_provider"]
    for name in _SERVER_TEXT:
        if isinstance(server.get(name), str) and server[name]:
            setattr(s, name, server[name])
    for name in _SERVER_NUMBERS:
        value = server.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            setattr(s, name, float(value))
    for name in _SERVER_INTEGERS:
        value = server.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            setattr(s, name, value)
    if isinstance(server.get("model_map"), dict):
        s.model_map = {str(k): str(v) for k, v in server["model_map"].items()}
    return s


class ProjectLoader:
    def __init__(self, root: Path, environ: Mapping[str, str] | None = None) -> None:
        self.root = root.resolve()
        self.diags = Diagnostics()
        self.env = project_environment(self.root, environ)
        self.resolver = PathResolver(self.root, self.diags)
        self.project_doc: Document | None = None
        self.config = ProjectConfig(root=self.root)

    # --- orchestrator.yaml ---------------------------------------------------------------

    def load_config(self) -> None:
        path = self.root / PROJECT_FILE
        if not path.is_file():
            return
        text = read_text(path, self.diags, PROJECT_FILE)
        doc = parse_yaml(path, text, self.diags, PROJECT_FILE) if text is not None else None
        if doc is None or doc.data is None:
            return
        if not isinstance(doc.data, dict):
            self.diags.error(
                doc.loc(),
                f"{PROJECT_FILE} must be a mapping (namespace, target, paths, defaults, server)",
            )
            return
        interpolate(doc, self.env, self.diags)
        schema_check.check(doc, "Project", self.diags)
        self.project_doc = doc
        data, cfg = doc.data, self.config
        cfg.source = doc.loc()
        if isinstance(data.get("namespace"), str):
            cfg.namespace = data["namespace"]
            cfg.namespace_set = True
        target = data.get("target")
        cfg.target_embedded = target == "embedded"
        if isinstance(target, dict):
            # An empty URL (e.g. `${OPENAI_BASE_URL:-}` unset) means the embedded server.
            base_url, api_key = target.get("base_url"), target.get("api_key")
            cfg.base_url = base_url if isinstance(base_url, str) and base_url else None
            cfg.api_key = api_key if isinstance(api_key, str) and api_key else None
            cfg.api = target["api"] if isinstance(target.get("api"), str) else None
        paths = data.get("paths")
        if isinstance(paths, dict):
            for kind in ("assistants", "scenarios"):
                value = paths.get(kind)
                if isinstance(value, str):
                    value = [value]
                if isinstance(value, list):
                    setattr(cfg, f"{kind}_paths", [v for v in value if isinstance(v, str)])
        if isinstance(data.get("defaults"), dict):
            cfg.defaults = copy.deepcopy(data["defaults"])
        server = data.get("server")
        if isinstance(server, dict):
            cfg.server = _server_settings(server)

    # --- discovery -----------------------------------------------------------------------

    def configured_files(self) -> list[Path]:
        """YAML files under the configured assistants/scenarios paths."""
        explicit = self.project_doc is not None and isinstance(
            self.project_doc.data.get("paths"), dict
        )
        out: list[Path] = []
        for kind in ("assistants", "scenarios"):
            for i, written in enumerate(getattr(self.config, f"{kind}_paths")):
                loc = (
                    self.project_doc.loc(("paths", kind, i))
                    if self.project_doc
                    else Location(self.root)
                )
                if "\0" in written or not self.resolver.inside(self.root / written):
                    self.diags.error(loc, f"paths.{kind}: '{written}' is outside the project root")
                    continue
                targets = (
                    sorted(self.root.glob(written)) if is_glob(written) else [self.root / written]
                )
                found = [t for t in targets if t.exists()]
                if not found and explicit:
                    self.diags.warning(loc, f"paths.{kind}: '{written}' does not exist")
                for t in found:
                    out += (
                        _yaml_files(t) if t.is_dir() else [t] if t.suffix in YAML_SUFFIXES else []
                    )
        return out

    def warn_no_assistants(self) -> None:
        # An empty or wrong folder must not pass for a project with nothing to change.
        doc = self.project_doc
        loc = doc.loc(("paths", "assistants")) if doc is not None else Location(self.root)
        under = ", ".join(f"'{p}'" for p in self.config.assistants_paths) or "(none)"
        self.diags.warning(
            loc,
            f"no assistant files found under {under} in {self.root}: add a `kind: Assistant` "
            "YAML file there, set paths.assistants in orchestrator.yaml, or pick the project "
            "with -C DIR",
        )

    def given_files(self, paths: Iterable[Path]) -> list[Path]:
        out: list[Path] = []
        for p in paths:
            p = (p if p.is_absolute() else Path.cwd() / p).resolve()
            if p.is_dir():
                found = _yaml_files(p)
                if not found:
                    self.diags.warning(Location(p), "no YAML files in this folder")
                out += found
            elif p.is_file():
                if p.suffix not in YAML_SUFFIXES:
                    self.diags.error(
                        Location(p), "not a YAML file: pass .yaml/.yml definition files or folders"
                    )
                else:
                    out.append(p)
            else:
                self.diags.error(Location(p), "no such file or folder")
        return out

    # --- documents -----------------------------------------------------------------------

    def load_file(self, path: Path, loaded: _Loaded) -> None:
        if path == self.root / PROJECT_FILE:
            return  # loaded as the project file
        if self.resolver.unreadable_name(path, "definition file") or self.resolver.outside(
            path, "this definition file"
        ):
            return
        text = read_text(path, self.diags)
        if text is None:
            return
        doc = parse_yaml(path, text, self.diags)
        if doc is None:
            return
        if doc.data is None:
            self.diags.warning(
                doc.loc(),
                "empty file: expected a definition with `kind: Assistant`, `Scenario` or `Cassette`",
            )
            return
        if not isinstance(doc.data, dict):
            self.diags.error(
                doc.loc(), "expected a mapping with `kind: Assistant`, `Scenario` or `Cassette`"
            )
            return
        kind = doc.data.get("kind")
        if kind is None:
            loaded.kindless.append(doc)
            return
        if kind not in KINDS:
            if kind == "Project":
                msg = f"kind: Project belongs in {PROJECT_FILE} at the project root"
            else:
                msg = f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}{did_you_mean(str(kind), KINDS)}"
            self.diags.error(doc.loc(("kind",)), msg)
            return
        if kind == "Cassette":
            # Recorded data: never interpolated.
            schema_check.check(doc, "Cassette", self.diags)
            loaded.cassettes.append(doc)
            return
        interpolate(doc, self.env, self.diags)
        if kind == "Assistant":
            self._apply_defaults(doc)
            found = Diagnostics()
            schema_check.check(doc, "Assistant", found)
            project_file = self.project_doc.path if self.project_doc else None
            # Problems inside orchestrator.yaml's defaults were reported once already.
            self.diags.items += [d for d in found if d.location.path != project_file]
            assistant = build_assistant(doc, self.resolver, self.diags)
            if assistant is not None:
                loaded.assistants.append(assistant)
        else:
            schema_check.check(doc, "Scenario", self.diags)
            scenario = build_scenario(doc, self.resolver, self.diags)
            if scenario is not None:
                loaded.scenarios.append(scenario)

    def _apply_defaults(self, doc: Document) -> None:
        defaults, pdoc = self.config.defaults, self.project_doc
        if not defaults or pdoc is None:
            return
        data = doc.data
        for key, value in defaults.items():
            if (
                key == "metadata"
                and isinstance(value, dict)
                and isinstance(data.get("metadata"), dict)
            ):
                for mk, mv in value.items():
                    if mk not in data["metadata"]:
                        data["metadata"][mk] = copy.deepcopy(mv)
                        doc.graft(("metadata", mk), pdoc, ("defaults", "metadata", mk))
            elif key not in data:
                data[key] = copy.deepcopy(value)
                doc.graft((key,), pdoc, ("defaults", key))

    # --- cross-file rules ----------------------------------------------------------------

    def _at(self, loc: Location) -> str:
        """A location inside a message: relative to the project root."""
        return f"{self.resolver.rel(loc.path)}:{loc.line}:{loc.column}"

    def cross_check(self, loaded: _Loaded) -> None:
        self._unique(
            [(a.spec.key, a.doc, ("key",)) for a in loaded.assistants],
            "assistant key",
            "set `key:` to tell them apart",
        )
        self._unique(
            [(s.spec.name, s.doc, ("name",)) for s in loaded.scenarios],
            "scenario name",
            "give each scenario its own `name:`",
        )
        self._shared_vector_stores(loaded.assistants)
        by_key = {a.spec.key: a for a in loaded.assistants}
        for s in loaded.scenarios:
            self._check_scenario(s, by_key)
        for c in loaded.cassettes:
            self._check_cassette(c, by_key)
        data_files = {
            ref.path
            for a in loaded.assistants
            for ref in [
                *a.spec.code_interpreter_files,
                *(a.spec.vector_store.files if a.spec.vector_store else []),
            ]
        } | {att.file.path for s in loaded.scenarios for t in s.spec.turns for att in t.attachments}
        for doc in loaded.kindless:
            if doc.path.resolve() in data_files:
                continue  # a data file an assistant or scenario uses, not a definition
            near = next(
                (k for k in doc.data if isinstance(k, str) and did_you_mean(k, ["kind"])), None
            )
            hint = f" ('{near}' looks like a misspelt `kind`)" if near else ""
            self.diags.error(
                doc.key_loc((near,)) if near else doc.loc(),
                f"missing `kind`: expected kind: Assistant, Scenario or Cassette{hint}",
            )

    def _unique(self, items: list[tuple[str, Document, tuple[str]]], what: str, fix: str) -> None:
        seen: dict[str, list[tuple[Document, tuple[str]]]] = {}
        for value, doc, path in items:
            if value:
                seen.setdefault(value, []).append((doc, path))
        for value, docs in seen.items():
            if len(docs) < 2:
                continue
            for doc, path in docs:
                others = ", ".join(
                    self._at(d.key_loc(p) if p[0] in d.data else d.loc())
                    for d, p in docs
                    if d is not doc
                )
                self.diags.error(
                    doc.key_loc(path) if path[0] in doc.data else doc.loc(),
                    f"{what} '{value}' is also used by {others}: {what}s must be unique; {fix}",
                )

    def _shared_vector_stores(self, assistants: list[LoadedAssistant]) -> None:
        first: dict[str, LoadedAssistant] = {}
        for a in assistants:
            vs = a.spec.vector_store
            if vs is None:
                continue
            if vs.key not in first:
                first[vs.key] = a
                continue
            b = first[vs.key]
            other = b.spec.vector_store
            assert other is not None
            mine, theirs = {f.rel for f in vs.files}, {f.rel for f in other.files}
            where = self._at(b.vector_store_loc or b.doc.loc())
            if mine != theirs:
                diff = []
                if mine - theirs:
                    diff.append("only here: " + ", ".join(sorted(mine - theirs)))
                if theirs - mine:
                    diff.append(f"only in '{b.spec.key}': " + ", ".join(sorted(theirs - mine)))
                self.diags.error(
                    a.vector_store_loc or a.doc.loc(),
                    f"vector store '{vs.key}' is shared with assistant '{b.spec.key}' ({where}) but "
                    f"lists other files ({'; '.join(diff)}): assistants sharing a vector store must "
                    "list the same files",
                )
            elif vs.chunking_strategy != other.chunking_strategy:
                self.diags.error(
                    a.vector_store_loc or a.doc.loc(),
                    f"vector store '{vs.key}' is shared with assistant '{b.spec.key}' ({where}) but "
                    "with another chunking_strategy: shared stores must be chunked the same way",
                )
            else:
                # One store, one object: the reconciler sees a single desired vector store.
                a.spec.vector_store = other

    def _check_scenario(self, s: LoadedScenario, by_key: dict[str, LoadedAssistant]) -> None:
        doc, key = s.doc, s.spec.assistant
        if not key:
            return
        assistant = by_key.get(key)
        if assistant is None:
            known = ", ".join(sorted(by_key)) or "none"
            self.diags.error(
                doc.loc(("assistant",)),
                f"unknown assistant '{key}'{did_you_mean(key, by_key)}: no kind: Assistant file has "
                f"this key (known: {known})",
            )
            return
        s.related.add(assistant.doc.path)
        s.related |= assistant.related
        functions = assistant.spec.functions()
        declared = ", ".join(sorted(functions)) or "no functions"
        for name, loc, role in function_references(doc):
            if name not in functions:
                self.diags.error(
                    loc,
                    f"{role} names function '{name}', which assistant '{key}' does not declare"
                    f"{did_you_mean(name, functions)} (it declares: {declared})",
                )
        tools = {t.type for t in assistant.spec.tools}
        store_files = {
            f.filename
            for f in (assistant.spec.vector_store.files if assistant.spec.vector_store else [])
        }
        for i, turn in enumerate(_list(doc.data.get("turns"))):
            if not isinstance(turn, dict):
                continue
            choice = turn.get("tool_choice")
            if (
                isinstance(choice, dict)
                and choice.get("type") in ("code_interpreter", "file_search")
                and choice["type"] not in tools
            ):
                self.diags.error(
                    doc.loc(("turns", i, "tool_choice", "type")),
                    f"tool_choice asks for {choice['type']}, but assistant '{key}' has no such tool",
                )
            expect = turn.get("expect") if isinstance(turn.get("expect"), dict) else {}
            steps = expect.get("steps")
            if isinstance(steps, dict):
                for tool in ("code_interpreter", "file_search"):
                    if steps.get(tool) is True and tool not in tools:
                        self.diags.error(
                            doc.loc(("turns", i, "expect", "steps", tool)),
                            f"expects a {tool} step, but assistant '{key}' has no {tool} tool, so "
                            "this can never pass",
                        )
            citations = expect.get("citations")
            if isinstance(citations, dict) and citations.get("file") is not None:
                files = (
                    citations["file"]
                    if isinstance(citations["file"], list)
                    else [citations["file"]]
                )
                attached = {a.file.filename for t in s.spec.turns for a in t.attachments}
                for name in files:
                    if isinstance(name, str) and name not in store_files | attached:
                        self.diags.warning(
                            doc.loc(("turns", i, "expect", "citations", "file")),
                            f"expects a citation of '{name}', but it is neither in assistant "
                            f"'{key}''s file_search files nor attached"
                            f"{did_you_mean(name, store_files | attached)}",
                        )

    def _check_cassette(self, doc: Document, by_key: dict[str, LoadedAssistant]) -> None:
        data = doc.data
        key = data.get("assistant")
        assistant = by_key.get(key) if isinstance(key, str) else None
        if assistant is None:
            return
        functions = assistant.spec.functions()
        for t, turn in enumerate(_list(data.get("turns"))):
            for s, step in enumerate(_list(turn.get("steps")) if isinstance(turn, dict) else []):
                calls = step.get("tool_calls") if isinstance(step, dict) else None
                for c, call in enumerate(calls if isinstance(calls, list) else []):
                    if isinstance(call, dict) and call.get("type") == "function":
                        name = call.get("name")
                        if isinstance(name, str) and name not in functions:
                            self.diags.error(
                                doc.loc(("turns", t, "steps", s, "tool_calls", c, "name")),
                                f"the cassette calls function '{name}', which assistant '{key}' no "
                                "longer declares: record the scenario again (--record)",
                            )

    # --- all together --------------------------------------------------------------------

    def load(self, paths: list[Path] | None) -> Project:
        self.load_config()
        configured = self.configured_files()
        given = self.given_files(paths) if paths is not None else None
        files = sorted({*configured, *(given or [])})
        loaded = _Loaded()
        for path in files:
            self.load_file(path, loaded)
        self.cross_check(loaded)
        if given is None and not loaded.assistants:
            self.warn_no_assistants()

        if given is None:
            assistants, scenarios = loaded.assistants, loaded.scenarios
            diagnostics = list(self.diags)
        else:
            selected = set(given)
            scenarios = [s for s in loaded.scenarios if s.doc.path in selected]
            wanted = {s.spec.assistant for s in scenarios} | {
                c.data.get("assistant") for c in loaded.cassettes if c.path in selected
            }
            assistants = [
                a for a in loaded.assistants if a.doc.path in selected or a.spec.key in wanted
            ]
            relevant = set(selected) | {Path(p).resolve() for p in paths or []}
            for item in [*assistants, *scenarios]:
                relevant |= {item.doc.path, *item.related}
            if self.project_doc is not None:
                relevant.add(self.project_doc.path)
            diagnostics = [d for d in self.diags if d.location.path in relevant]

        return Project(
            config=self.config,
            assistants=[a.spec for a in assistants],
            scenarios=[s.spec for s in scenarios],
            diagnostics=_sorted(diagnostics),
        )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _sorted(diags: list[Diagnostic]) -> list[Diagnostic]:
    unique: dict[tuple[Any, ...], Diagnostic] = {}
    for d in diags:
        unique.setdefault((d.location, d.severity, d.message), d)
    return sorted(
        unique.values(),
        key=lambda d: (str(d.location.path), d.location.line, d.location.column, d.message),
    )


def load_project(
    root: Path, paths: list[Path] | None = None, *, environ: Mapping[str, str] | None = None
) -> Project:
    """Load a project: orchestrator.yaml (optional) and every definition under its paths.

    ``paths`` (files or folders, relative to the current directory) selects what to
    load: the returned project then holds the selected assistants and scenarios plus the
    assistants those scenarios use, and only the diagnostics that concern them. The
    whole project is still read, so cross-file rules (unique keys, shared vector
    stores) hold. ``environ`` replaces ``os.environ`` for ``${VAR}`` (tests).
    """
    return ProjectLoader(root, environ).load(paths)


def load_project_config(
    root: Path, *, environ: Mapping[str, str] | None = None
) -> tuple[ProjectConfig, list[Diagnostic]]:
    """Only orchestrator.yaml (for `serve`, which needs no definitions), and its problems."""
    loader = ProjectLoader(root, environ)
    loader.load_config()
    return loader.config, list(loader.diags)
