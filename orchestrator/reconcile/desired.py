"""Desired state: what the YAML asks for, as server objects with symbolic references.

Files are keyed by content sha256 (the bytes the loader read once), vector stores and
assistants by their logical key. References between objects stay symbolic (a file's
sha256, a vector store's key) until apply resolves them to server ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from orchestrator.ownership import (
    assistant_spec_sha256,
    check_namespace,
    vector_store_spec_sha256,
)
from orchestrator.project.agent_rules import (
    PROFILE_ONLY_FIELDS,
    agent_blockers,
    becomes_agent,
    profile_only_notes,
)
from orchestrator.project.specs import AssistantSpec, FileRef, Project
from orchestrator.reconcile.agents import agent_fields
from orchestrator.reconcile.errors import DesiredStateError

# Assistant fields the reconciler sets, in the order they are shown.
ASSISTANT_FIELDS = (
    "name",
    "model",
    "description",
    "instructions",
    "tools",
    "temperature",
    "top_p",
    "response_format",
    "reasoning_effort",
)


@dataclass
class DesiredFile:
    sha256: str
    size: int
    # The name it is uploaded under: the file name of the first path the code
    # interpreter uses (the sandbox shows files by name), else of the first path.
    name: str
    # Every project-relative path with these bytes, sorted.
    paths: list[str]
    content: bytes | None = field(default=None, repr=False)
    # The paths code-interpreter assistants name it by, sorted.
    ci_paths: list[str] = field(default_factory=list)


@dataclass
class DesiredVectorStore:
    key: str
    name: str
    file_shas: list[str]
    chunking_strategy: dict[str, Any] | None
    # Assistants that use it (several when shared by key).
    assistants: list[str] = field(default_factory=list)

    @cached_property  # a desired state is not changed once desired_state() returns
    def sha256(self) -> str:
        return vector_store_spec_sha256(self.file_shas, self.chunking_strategy)


@dataclass
class DesiredAssistant:
    key: str
    # Where it is defined ("path:line"), for messages.
    source: str
    # API fields (ASSISTANT_FIELDS); None means "the server's default".
    fields: dict[str, Any]
    user_metadata: dict[str, str]
    code_interpreter_files: list[str]  # sha256s, in YAML order
    vector_store: str | None  # key
    # The names the code interpreter shows them by (sha256 -> file name).
    code_interpreter_names: dict[str, str] = field(default_factory=dict)
    # The server assistant the YAML was exported from (`adopt: {id}`); not in the spec hash.
    adopt_id: str | None = None
    # Where the instructions are written ("path:line", or a prompt file's path), for
    # the header of their diff; empty: at ``source``.
    instructions_source: str = ""

    @cached_property  # a desired state is not changed once desired_state() returns
    def sha256(self) -> str:
        """The spec hash apply writes on the assistant (see :mod:`orchestrator.ownership`)."""
        return assistant_spec_sha256(
            self.fields,
            self.user_metadata,
            self.code_interpreter_files,
            self.vector_store,
            self.code_interpreter_names,
        )


@dataclass
class DesiredState:
    namespace: str
    files: dict[str, DesiredFile] = field(default_factory=dict)
    vector_stores: dict[str, DesiredVectorStore] = field(default_factory=dict)
    assistants: dict[str, DesiredAssistant] = field(default_factory=dict)
    # Built from some of the project's files only: nothing may be pruned.
    partial: bool = False
    # Things the plan should mention (not errors).
    warnings: list[str] = field(default_factory=list)


def assistant_fields(spec: AssistantSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "model": spec.model,
        "description": spec.description,
        "instructions": spec.instructions,
        "tools": [t.to_api() for t in spec.tools],
        "temperature": spec.temperature,
        "top_p": spec.top_p,
        "response_format": spec.response_format,
        "reasoning_effort": spec.reasoning_effort,
    }


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _platform_object(
    spec: AssistantSpec, source: str, ci: list[str], state: DesiredState
) -> DesiredAssistant | None:
    """What an assistant is on ``api: openai`` (see :mod:`.platform`): a Managed Agent,
    a file record of its code-interpreter files, or nothing (its profile only)."""
    blockers = agent_blockers(spec) if spec.agent else []
    if becomes_agent(spec):
        kept = profile_only_notes(spec)
        if kept:
            state.warnings.append(
                f"assistant {spec.key!r}: its agent has no {', '.join(kept)}; "
                "they are in its Responses profile (the lock file)"
            )
        fields = agent_fields(assistant_fields(spec))
        fields.update(dict.fromkeys(PROFILE_ONLY_FIELDS))
        return DesiredAssistant(
            key=spec.key,
            source=source,
            fields=fields,
            user_metadata=dict(sorted(spec.metadata.items())),
            code_interpreter_files=[],
            vector_store=None,
            adopt_id=spec.adopt_id,
        )
    if blockers:
        state.warnings.append(
            f"assistant {spec.key!r} is not published as a Managed Agent: "
            + "; ".join(str(b) for b in blockers)
        )
    if not ci:
        return None
    # Only its code-interpreter files need a record on the server (the Files API has no
    # metadata); everything else is in its Responses profile.
    return DesiredAssistant(
        key=spec.key,
        source=source,
        fields=dict.fromkeys(ASSISTANT_FIELDS),
        user_metadata={},
        code_interpreter_files=ci,
        vector_store=None,
    )


def desired_state(
    project: Project, namespace: str, *, partial: bool = False, api: str = "assistants"
) -> DesiredState:
    """The desired state of ``project`` in ``namespace``; raises on conflicts the YAML has.

    ``api`` is the target's (:data:`orchestrator.targets.TargetApi`): on ``openai``, an
    assistant becomes a Managed Agent, a file record, or nothing (see :mod:`.platform`);
    files and vector stores are the same on both."""
    problems: list[str] = []
    if (why := check_namespace(namespace)) is not None:
        raise DesiredStateError([why])
    state = DesiredState(namespace=namespace, partial=partial)

    def add_file(ref: FileRef, *, code_interpreter: bool = False) -> str:
        f = state.files.get(ref.sha256)
        if f is None:
            f = state.files[ref.sha256] = DesiredFile(
                sha256=ref.sha256,
                size=ref.size,
                name=ref.filename,
                paths=[],
                content=ref.content,
            )
        if ref.rel not in f.paths:
            f.paths.append(ref.rel)
            f.paths.sort()
        if code_interpreter and ref.rel not in f.ci_paths:
            f.ci_paths.append(ref.rel)
            f.ci_paths.sort()
        # The name does not depend on YAML order.
        f.name = (f.ci_paths or f.paths)[0].rsplit("/", 1)[-1]
        return ref.sha256

    vs_owner: dict[str, AssistantSpec] = {}
    for spec in sorted(project.assistants, key=lambda a: a.key):
        if spec.key in state.assistants:
            problems.append(
                f"{spec.source}: assistant key {spec.key!r} is defined twice "
                f"(also at {state.assistants[spec.key].source}); keys must be unique"
            )
            continue
        ci = list(
            dict.fromkeys(
                add_file(ref, code_interpreter=True) for ref in spec.code_interpreter_files
            )
        )
        vs_key = None
        if spec.vector_store is not None:
            vs = spec.vector_store
            vs_key = vs.key
            shas = sorted({add_file(ref) for ref in vs.files})
            existing = state.vector_stores.get(vs.key)
            if existing is None:
                state.vector_stores[vs.key] = DesiredVectorStore(
                    key=vs.key,
                    name=vs.key,
                    file_shas=shas,
                    chunking_strategy=vs.chunking_strategy,
                    assistants=[spec.key],
                )
                vs_owner[vs.key] = spec
            elif existing.file_shas != shas or existing.chunking_strategy != vs.chunking_strategy:
                other = vs_owner[vs.key]
                problems.append(
                    f"{spec.source}: vector store {vs.key!r} is shared with assistant "
                    f"{other.key!r} ({other.source}) but lists different files or chunking; "
                    "shared stores must list the same files"
                )
            else:
                existing.assistants.append(spec.key)
        source = f"{_rel(spec.source.path, project.config.root)}:{spec.source.line}"
        at = spec.instructions_source
        instructions_at = ""
        if at is not None:
            rel = _rel(at.path, project.config.root)
            instructions_at = rel if at.path != spec.source.path else f"{rel}:{at.line}"
        if api == "openai":
            made = _platform_object(spec, source, ci, state)
            if made is not None:
                made.instructions_source = instructions_at
                state.assistants[spec.key] = made
            continue
        state.assistants[spec.key] = DesiredAssistant(
            key=spec.key,
            source=source,
            fields=assistant_fields(spec),
            user_metadata=dict(sorted(spec.metadata.items())),
            code_interpreter_files=ci,
            vector_store=vs_key,
            adopt_id=spec.adopt_id,
            instructions_source=instructions_at,
        )
    for a in state.assistants.values():
        a.code_interpreter_names = {s: state.files[s].name for s in a.code_interpreter_files}
        names: dict[str, list[str]] = {}
        for s in a.code_interpreter_files:
            names.setdefault(state.files[s].name, []).append(s)
        for name, shas in sorted(names.items()):
            if len(shas) > 1:
                paths = ", ".join(state.files[s].ci_paths[0] for s in shas)
                problems.append(
                    f"{a.source}: files.code_interpreter has {len(shas)} different files named "
                    f"{name!r} ({paths}); the code interpreter shows files by name, so one "
                    "would hide the other: rename one of them"
                )
    for f in sorted(state.files.values(), key=lambda f: f.name):
        others = sorted({p for p in f.ci_paths if p.rsplit("/", 1)[-1] != f.name})
        if others:
            state.warnings.append(
                f"{', '.join(others)} has the same content as {f.ci_paths[0]}: it is uploaded "
                f"once, and the code interpreter shows it as {f.name!r}"
            )
    if problems:
        raise DesiredStateError(problems)
    return state
