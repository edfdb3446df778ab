"""Typed specs: what the loader produces from YAML and the reconciler / runner consume.

These dataclasses are the interface between ``spec`` and the other sub-packages.
Paths are absolute; ``FileRef.content`` holds the bytes that were hashed, so the
reconciler uploads exactly what it compared (files are read once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Location:
    """Where something was written: 1-based line and column."""

    path: Path
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class Diagnostic:
    location: Location
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"

    def display_path(self, relative_to: Path | None = None) -> str:
        """The file's path relative to ``relative_to`` (e.g. the cwd) when inside it."""
        if relative_to is not None:
            try:
                return self.location.path.relative_to(relative_to).as_posix()
            except ValueError:
                pass
        return str(self.location.path)

    def format(self, relative_to: Path | None = None) -> str:
        """``path:line:col: severity: message``, the form editors and CI annotate from."""
        loc = self.location
        return f"{self.display_path(relative_to)}:{loc.line}:{loc.column}: {self.severity}: {self.message}"

    def to_dict(self, relative_to: Path | None = None) -> dict[str, Any]:
        loc = self.location
        return {
            "path": self.display_path(relative_to),
            "line": loc.line,
            "column": loc.column,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass
class FileRef:
    """A local file the assistant uses, read once and hashed from those bytes."""

    path: Path
    # Relative to the project root, POSIX separators: stable across machines.
    rel: str
    sha256: str
    content: bytes = field(repr=False)

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class FunctionSpec:
    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description is not None:
            out["description"] = self.description
        if self.strict is not None:
            out["strict"] = self.strict
        return out


@dataclass
class ToolSpec:
    type: Literal["code_interpreter", "file_search", "function"]
    # file_search options: {"max_num_results": int, "ranking_options": {...}}
    file_search: dict[str, Any] | None = None
    function: FunctionSpec | None = None

    def to_api(self) -> dict[str, Any]:
        if self.type == "function":
            assert self.function is not None
            return {"type": "function", "function": self.function.to_api()}
        if self.type == "file_search" and self.file_search:
            return {"type": "file_search", "file_search": self.file_search}
        return {"type": self.type}


@dataclass
class VectorStoreSpec:
    """The managed vector store behind an assistant's file_search files."""

    # Stable identity; the assistant's key unless `files.file_search.vector_store` names
    # a shared one (several assistants naming the same key share one store).
    key: str
    files: list[FileRef]
    chunking_strategy: dict[str, Any] | None = None


@dataclass
class AssistantSpec:
    key: str
    source: Location
    model: str
    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    # Where the instructions are written: the prompt file (instructions_file) or the
    # `instructions:` key; diffs of them point there.
    instructions_source: Location | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    code_interpreter_files: list[FileRef] = field(default_factory=list)
    vector_store: VectorStoreSpec | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    temperature: float | None = None
    top_p: float | None = None
    # "auto" | {"type": "json_object"} | {"type": "json_schema", "json_schema": {...}}
    response_format: Any = None
    reasoning_effort: str | None = None
    # `agent: true`: on an `api: openai` target, also published as a Managed Agent;
    # `agent_from_defaults`: the value came from orchestrator.yaml `defaults`.
    agent: bool = False
    agent_from_defaults: bool = False
    # `adopt: {id: ...}`: the server assistant this file was exported from (taken over by
    # `apply --adopt` while it is unmanaged).
    adopt_id: str | None = None

    def functions(self) -> dict[str, FunctionSpec]:
        return {t.function.name: t.function for t in self.tools if t.function is not None}


@dataclass
class AttachmentSpec:
    file: FileRef
    tools: list[Literal["code_interpreter", "file_search"]] = field(
        default_factory=lambda: ["code_interpreter"]
    )


@dataclass
class TurnSpec:
    user: str
    source: Location
    attachments: list[AttachmentSpec] = field(default_factory=list)
    additional_instructions: str | None = None
    tool_choice: Any = None
    timeout: float | None = None
    # Raw `expect:` mapping, already checked against the Scenario schema; the runner
    # parses it into its own typed expectations.
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScenarioSpec:
    name: str
    source: Location
    assistant: str
    turns: list[TurnSpec]
    handlers: list[Path] = field(default_factory=list)
    # Static outputs for functions without a Python handler: name -> output.
    mocks: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None


@dataclass
class ServerSettings:
    """`server:` in orchestrator.yaml, as written (None: not set there).

    :func:`orchestrator.settings.resolve_settings` layers these over the environment and
    the defaults, for the embedded target and for `orchestrator serve` alike.
    """

    model_provider: Literal["local", "chat"] | None = None
    upstream_base_url: str | None = None
    upstream_api_key: str | None = field(default=None, repr=False)
    model_map: dict[str, str] | None = None
    upstream_timeout: float | None = None
    upstream_max_retries: int | None = None
    upstream_max_tool_rounds: int | None = None
    upstream_tool_call_format: str | None = None
    run_expiry_seconds: int | None = None
    max_concurrent_runs: int | None = None
    sandbox_timeout: float | None = None
    sandbox_memory_mb: int | None = None


@dataclass
class ProjectConfig:
    """orchestrator.yaml (all optional)."""

    root: Path
    source: Location | None = None
    namespace: str = "default"
    # None: the embedded server. Else a base URL (after ${VAR} interpolation).
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    # `target.api` as written (None: not set); see orchestrator.settings.
    api: str | None = None
    # `target: embedded` (the string form): the embedded server, whatever the API.
    target_embedded: bool = False
    # Whether orchestrator.yaml sets `namespace:` (else the environment may).
    namespace_set: bool = False
    assistants_paths: list[str] = field(default_factory=lambda: ["assistants"])
    scenarios_paths: list[str] = field(default_factory=lambda: ["scenarios"])
    # Defaults applied to every assistant that does not set them (e.g. model).
    defaults: dict[str, Any] = field(default_factory=dict)
    server: ServerSettings = field(default_factory=ServerSettings)


@dataclass
class Project:
    """Everything loaded from a project, plus every problem found on the way."""

    config: ProjectConfig
    assistants: list[AssistantSpec] = field(default_factory=list)
    scenarios: list[ScenarioSpec] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def assistant(self, key: str) -> AssistantSpec | None:
        return next((a for a in self.assistants if a.key == key), None)
