"""The plan model: every create / update / replace / delete / no-op the planner found.

``plan`` and ``apply`` both use the one :class:`Plan` that
:func:`orchestrator.reconcile.planner.make_plan` computes (there is no separate dry-run
logic). Its JSON form (``plan --json`` / ``plan -o``) is :mod:`.planfile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from orchestrator.reconcile.fielddiff import FieldDiff

Kind = Literal["file", "vector_store", "assistant", "journal"]
Action = Literal["create", "update", "replace", "delete", "adopt", "noop", "orphan", "blocked"]
# Actions that write to the server.
WRITE_ACTIONS = ("create", "update", "replace", "delete", "adopt")
KIND_ORDER: dict[str, int] = {"file": 0, "vector_store": 1, "assistant": 2, "journal": 3}


@dataclass
class PlanOptions:
    prune: bool = False
    adopt: bool = False


@dataclass
class FileOp:
    sha256: str
    size: int
    upload_name: str
    paths: list[str]


@dataclass
class VectorStoreOp:
    name: str
    metadata: dict[str, str]
    chunking_strategy: dict[str, Any] | None
    # Content to attach (sha256s; all files for create/replace), file ids to detach, and
    # attached files whose sha256 attribute needs writing (file id -> sha256).
    attach: list[str] = field(default_factory=list)
    detach: list[str] = field(default_factory=list)
    set_attributes: dict[str, str] = field(default_factory=dict)
    update_store: bool = False  # name / metadata (or its file entries) need writing
    file_shas: list[str] = field(default_factory=list)  # the final set
    # Attached files that stay (file id -> sha256): with the attached ones, the store's
    # file entries after the change.
    keep: dict[str, str] = field(default_factory=dict)


@dataclass
class AssistantOp:
    # create: every set field; update/adopt: the fields that differ (None resets).
    fields: dict[str, Any]
    # Without the file entries when tool_resources are sent (apply adds them, with the ids).
    metadata: dict[str, str]
    code_interpreter_files: list[str]  # sha256s
    vector_store: str | None  # key
    send_tool_resources: bool


@dataclass
class Change:
    kind: Kind
    action: Action
    # file: sha256; vector store / assistant: logical key
    key: str
    # What users read: a file's path, or the key.
    label: str
    id: str | None = None
    # The object's name (assistants), as it will be after the change.
    name: str | None = None
    reason: str | None = None
    drift: bool = False
    diffs: list[FieldDiff] = field(default_factory=list)
    file: FileOp | None = None
    vector_store: VectorStoreOp | None = None
    assistant: AssistantOp | None = None
    # Ids an existing object references now (assistant: vector_store_ids / file_ids;
    # vector store: file_ids), for the lock file of objects the apply leaves alone.
    refs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return self.action in WRITE_ACTIONS


@dataclass
class Counts:
    add: int = 0
    change: int = 0
    destroy: int = 0
    adopt: int = 0
    blocked: int = 0
    orphan: int = 0
    # Journal pages of interrupted applies to remove (bookkeeping, not managed objects).
    cleanup: int = 0

    def summary(self) -> str:
        parts = [f"{self.add} to add", f"{self.change} to change", f"{self.destroy} to destroy"]
        if self.adopt:
            parts.insert(0, f"{self.adopt} to adopt")
        text = "Plan: " + ", ".join(parts)
        if self.cleanup:
            pages = "page" if self.cleanup == 1 else "pages"
            text += f"; {self.cleanup} journal {pages} of an interrupted apply to clear"
        if self.blocked:
            text += (
                f"; {self.blocked} cannot be applied (conflicts, see above): nothing is "
                "applied until they are resolved"
            )
        return text + "."


@dataclass
class Plan:
    namespace: str
    fingerprint: str
    changes: list[Change] = field(default_factory=list)
    options: PlanOptions = field(default_factory=PlanOptions)
    target: str = ""
    # Names of desired assistants: unmanaged assistants with these names are part of
    # the fingerprint (a new one would be an adoption question).
    adoption_names: list[str] = field(default_factory=list)
    # Unmanaged assistants the plan adopts (or asks about): part of the fingerprint too.
    adoption_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    partial: bool = False
    created_at: str = ""
    # Existing objects the changes refer to: file sha256 -> id, vector store key -> id.
    known_files: dict[str, str] = field(default_factory=dict)
    known_vector_stores: dict[str, str] = field(default_factory=dict)
    # Every desired file: sha256 -> project-relative paths (for the lock file).
    desired_files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        return any(c.writes for c in self.changes)

    @property
    def blocked(self) -> list[Change]:
        return [c for c in self.changes if c.action == "blocked"]

    def counts(self) -> Counts:
        n = Counts()
        for c in self.changes:
            if c.kind == "journal":
                n.cleanup += c.action == "delete"
            elif c.action == "create":
                n.add += 1
            elif c.action == "replace":
                n.add += 1
                n.destroy += 1
            elif c.action == "update":
                n.change += 1
            elif c.action == "adopt":
                n.adopt += 1
            elif c.action == "delete":
                n.destroy += 1
            elif c.action == "blocked":
                n.blocked += 1
            elif c.action == "orphan":
                n.orphan += 1
        return n
