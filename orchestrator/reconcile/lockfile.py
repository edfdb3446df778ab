"""``assistants.lock.json``: the ids an apply produced, for applications to read.

One file per namespace: ``assistants.lock.json`` for the ``default`` namespace,
``assistants.<namespace>.lock.json`` for the others, so dev and prod applied from one
checkout do not overwrite each other. Content is deterministic (sorted, no
timestamps), so it only changes in git when ids change::

    {
      "format_version": 2,
      "namespace": "default",
      "target": "embedded",
      "api": "assistants",
      "assistants": {
        "math-tutor": {"id": "asst_...", "name": "Math Tutor",
                       "vector_store_ids": [], "file_ids": []}
      },
      "vector_stores": {"quiz-generator": {"id": "vs_...", "file_ids": ["file-..."]}},
      "files": {"assistants/docs/guide.md": {"id": "file-...", "sha256": "..."}},
      "profiles": {"math-tutor": {"request": {"model": "gpt-4o", ...}, "agent_id": null}}
    }

``file_ids`` of an assistant are its code-interpreter files. :func:`env_lines` gives
``MATH_TUTOR_ASSISTANT_ID=asst_...`` lines for ``.env`` files (on ``api: openai``:
``..._AGENT_ID`` and ``..._VECTOR_STORE_ID``).

Version 2 adds ``api`` (the target's: ``assistants`` or ``openai``) and ``profiles``: per
assistant, the ``responses.create`` parameters it stands for, ids resolved (see
:mod:`.profiles`; the whole format is ``schemas/lockfile.schema.json``). On ``api:
openai``, ``assistants`` lists the Managed Agents (an assistant that is no agent has its
profile only).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.project.agent_rules import becomes_agent
from orchestrator.project.specs import AssistantSpec
from orchestrator.reconcile.apply import ApplyResult
from orchestrator.reconcile.plan import Plan
from orchestrator.reconcile.profiles import build_profiles

LOCKFILE_VERSION = 2


@dataclass
class LockedAssistant:
    id: str
    name: str | None = None
    vector_store_ids: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)


@dataclass
class LockFile:
    namespace: str
    target: str = ""
    assistants: dict[str, LockedAssistant] = field(default_factory=dict)
    vector_stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    api: str = "assistants"
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def assistant_id(self, key: str) -> str | None:
        a = self.assistants.get(key)
        return a.id if a else None

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": LOCKFILE_VERSION,
            "namespace": self.namespace,
            "target": self.target,
            "api": self.api,
            "assistants": {
                k: {
                    "id": a.id,
                    "name": a.name,
                    "vector_store_ids": a.vector_store_ids,
                    "file_ids": a.file_ids,
                }
                for k, a in sorted(self.assistants.items())
            },
            "vector_stores": dict(sorted(self.vector_stores.items())),
            "files": dict(sorted(self.files.items())),
            "profiles": dict(sorted(self.profiles.items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockFile:
        return cls(
            namespace=data.get("namespace") or "default",
            target=data.get("target") or "",
            assistants={
                k: LockedAssistant(
                    id=v["id"],
                    name=v.get("name"),
                    vector_store_ids=list(v.get("vector_store_ids") or []),
                    file_ids=list(v.get("file_ids") or []),
                )
                for k, v in (data.get("assistants") or {}).items()
            },
            vector_stores=dict(data.get("vector_stores") or {}),
            files=dict(data.get("files") or {}),
            api=data.get("api") or "assistants",
            profiles=dict(data.get("profiles") or {}),
        )


def lockfile_path(root: Path, namespace: str) -> Path:
    name = "assistants.lock.json" if namespace == "default" else f"assistants.{namespace}.lock.json"
    return root / name


def read_lockfile(root: Path, namespace: str = "default") -> LockFile | None:
    """The lock file of ``namespace`` under ``root``, or None if there is none."""
    path = lockfile_path(root, namespace)
    try:
        return LockFile.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def build_lockfile(plan: Plan, result: ApplyResult | None, target: str) -> LockFile:
    """What the namespace holds after ``plan`` was applied (``result=None``: nothing to do)."""
    lf = LockFile(namespace=plan.namespace, target=target)
    file_ids = dict(plan.known_files)
    vs_ids = dict(plan.known_vector_stores)
    asst_ids: dict[str, str] = {}
    if result is not None:
        file_ids.update(result.file_ids)
        vs_ids.update(result.vector_store_ids)
        asst_ids.update(result.assistant_ids)
    deleted = {c.id for c in plan.changes if c.action == "delete"}
    for c in plan.changes:
        if c.kind == "vector_store" and c.id not in deleted:
            vid = vs_ids.get(c.key) if c.action != "orphan" else c.id
            if not vid:
                continue
            if c.vector_store is not None:
                ids = [file_ids[s] for s in c.vector_store.file_shas if s in file_ids]
            else:
                ids = list(c.refs.get("file_ids") or [])
            lf.vector_stores.setdefault(c.key, {"id": vid, "file_ids": sorted(ids)})
        elif c.kind == "assistant" and c.action != "delete" and c.id not in deleted:
            aid = c.id if c.action in ("noop", "orphan") else asst_ids.get(c.key)
            if not aid or c.action == "blocked":
                continue
            if c.assistant is not None and c.action != "noop":
                vs = (
                    [vs_ids[c.assistant.vector_store]] if c.assistant.vector_store in vs_ids else []
                )
                fids = [file_ids[s] for s in c.assistant.code_interpreter_files if s in file_ids]
            else:
                vs = list(c.refs.get("vector_store_ids") or [])
                fids = list(c.refs.get("file_ids") or [])
            lf.assistants.setdefault(
                c.key, LockedAssistant(id=aid, name=c.name, vector_store_ids=vs, file_ids=fids)
            )
    for sha, paths in plan.desired_files.items():
        if sha in file_ids:
            for rel in paths:
                lf.files[rel] = {"id": file_ids[sha], "sha256": sha}
    return lf


def with_profiles(lock: LockFile, specs: Iterable[AssistantSpec], api: str) -> LockFile:
    """``lock`` with the target's API and a Responses profile per assistant in ``specs``.

    On ``api: openai`` only Managed Agents stay under ``assistants`` (a file record is
    bookkeeping, not something an application calls)."""
    specs = list(specs)
    lock.api = api
    if api == "openai":
        agents = {s.key for s in specs if becomes_agent(s)}
        lock.assistants = {k: a for k, a in lock.assistants.items() if k in agents}
    agent_ids = {k: a.id for k, a in lock.assistants.items()} if api == "openai" else {}
    lock.profiles = build_profiles(
        specs,
        {k: v["id"] for k, v in lock.vector_stores.items()},
        {rel: f["id"] for rel, f in lock.files.items()},
        agent_ids,
    )
    return lock


def write_lockfile(path: Path, lock: LockFile) -> bool:
    """Write when the content changed; True if the file was written."""
    text = json.dumps(lock.to_json(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def env_var_name(key: str, suffix: str = "ASSISTANT_ID") -> str:
    """``math-tutor`` -> ``MATH_TUTOR_ASSISTANT_ID`` (or ``_<suffix>``)."""
    base = re.sub(r"[^A-Za-z0-9]", "_", key).upper()
    if base[:1].isdigit():
        base = "_" + base
    return f"{base}_{suffix}"


def env_lines(lock: LockFile) -> list[str]:
    """``.env`` lines for what an application addresses by id.

    On the Assistants API: ``KEY_ASSISTANT_ID``. On ``api: openai`` there are no
    assistants: the Managed Agents (``KEY_AGENT_ID``) and the vector stores the profiles
    search (``KEY_VECTOR_STORE_ID``), for apps that build requests themselves; the rest
    of a request is its profile in the lock file."""
    if lock.api != "openai":
        return [f"{env_var_name(k)}={a.id}" for k, a in sorted(lock.assistants.items())]
    agents = [f"{env_var_name(k, 'AGENT_ID')}={a.id}" for k, a in sorted(lock.assistants.items())]
    stores = [
        f"{env_var_name(k, 'VECTOR_STORE_ID')}={v['id']}"
        for k, v in sorted(lock.vector_stores.items())
    ]
    return agents + stores


def update_env_file(path: Path, lines: list[str]) -> None:
    """Set these variables in a ``.env`` file, keeping every other line as it was."""
    new = dict(line.split("=", 1) for line in lines)
    try:
        existing = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        existing = []
    out: list[str] = []
    for line in existing:
        name = line.split("=", 1)[0].strip()
        if name in new:
            out.append(f"{name}={new.pop(name)}")
        else:
            out.append(line)
    out.extend(f"{k}={v}" for k, v in new.items())
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
