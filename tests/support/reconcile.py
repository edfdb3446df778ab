"""Shared pieces of the reconciler tests (no tests here): the project a test works in
(:class:`Proj`, driving the CLI), and views of what the server holds (:func:`managed`,
:func:`orphans`, :func:`bookkeeping`). The fixtures are in
:mod:`tests.support.reconcile_fixtures`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from click.testing import CliRunner, Result

from orchestrator.cli import cli
from orchestrator.ownership import (
    JOURNAL_KEY,
    KEY_KEY,
    LOCK_KEY,
    NAMESPACE_KEY,
    is_managed,
)
from orchestrator.reconcile.api import Api
from orchestrator.reconcile.identity import file_tag, read_file_entries
from tests.support import API_KEY, ROOT
from tests.support.cli import interruptible
from tests.support.proxy import FaultProxy, Faults

FUNCTION = {
    "name": "lookup_grade",
    "description": "Look up a student's grade.",
    "parameters": {
        "type": "object",
        "properties": {"student": {"type": "string"}},
        "required": ["student"],
    },
}


def all_pages(fetch: Any) -> list[Any]:
    return list(fetch())


SCORES_CSV = b"student,score\nana,9\nbo,7\n"


@dataclass
class Managed:
    assistants: list[Any]
    vector_stores: list[Any]
    # Files the namespace's objects use (the Files API's objects).
    files: list[Any]
    # file id -> content sha256 (or its 12-hex prefix) as our objects record it
    content: dict[str, str]

    def assistant(self, key: str) -> Any:
        found = [a for a in self.assistants if a.metadata.get(KEY_KEY) == key]
        assert len(found) == 1, f"{len(found)} managed assistants with key {key!r}"
        return found[0]

    def store(self, key: str) -> Any:
        found = [v for v in self.vector_stores if v.metadata.get(KEY_KEY) == key]
        assert len(found) == 1, f"{len(found)} managed vector stores with key {key!r}"
        return found[0]

    def file(self, name: str) -> Any:
        found = [f for f in self.files if f.filename == name]
        assert len(found) == 1, f"{len(found)} managed files named {name!r}"
        return found[0]


def managed(client: openai.OpenAI, namespace: str) -> Managed:
    """What the namespace holds, read directly (not through the proxy); checks no duplicates.

    Files are the namespace's when its stores or assistants use them; their content is
    what the store attributes / file entries record, and must agree with them.
    """
    assistants = [
        a
        for a in client.beta.assistants.list(limit=100, order="asc")
        if is_managed(a.metadata, namespace)
    ]
    stores = [
        v
        for v in client.vector_stores.list(limit=100, order="asc")
        if is_managed(v.metadata, namespace)
    ]
    content: dict[str, str] = {}
    for v in stores:
        entries = read_file_entries(v.metadata)
        for f in store_files(client, v.id):
            sha = (f.attributes or {}).get("orchestrator-sha256")
            assert isinstance(sha, str) and len(sha) == 64, f"{f.id} has no content hash"
            assert entries.get(file_tag(f.id)) == sha[:12], f"{f.id} is not in the store's entries"
            content[f.id] = sha
    for a in assistants:
        entries = read_file_entries(a.metadata)
        ci = a.tool_resources.code_interpreter if a.tool_resources else None
        ids = ci.file_ids if ci else []
        assert len(entries) == len(ids), f"{a.id}: file entries do not match its files"
        for fid in ids:
            prefix = entries[file_tag(fid)]
            assert content.get(fid, prefix).startswith(prefix)
            content.setdefault(fid, prefix)
    listed = {f.id: f for f in client.files.list(purpose="assistants")}
    files = [listed[fid] for fid in sorted(content)]
    assert len(files) == len(content), "a managed object uses a file that does not exist"
    keys = Counter(a.metadata[KEY_KEY] for a in assistants)
    assert all(n == 1 for n in keys.values()), f"duplicate assistants: {keys}"
    vkeys = Counter(v.metadata[KEY_KEY] for v in stores)
    assert all(n == 1 for n in vkeys.values()), f"duplicate vector stores: {vkeys}"
    same = Counter((f.filename, content[f.id][:12]) for f in files)
    assert all(n == 1 for n in same.values()), f"duplicate files: {same}"
    return Managed(assistants, stores, files, content)


def orphans(client: openai.OpenAI, since: int, names: set[str], ignore: Any = ()) -> list[Any]:
    """Files with these names created since ``since`` that no assistant or store uses
    (``ignore``: ids that are meant to be unused, e.g. the sentinels)."""
    used: set[str] = set()
    for a in client.beta.assistants.list(limit=100):
        ci = a.tool_resources.code_interpreter if a.tool_resources else None
        used.update(ci.file_ids if ci else [])
    for v in client.vector_stores.list(limit=100):
        used.update(f.id for f in store_files(client, v.id))
    return [
        f
        for f in client.files.list(purpose="assistants")
        if f.created_at >= since
        and f.filename in names
        and f.id not in used
        and f.id not in set(ignore)
    ]


def bookkeeping(client: openai.OpenAI, namespace: str) -> list[Any]:
    """Lock objects and journal pages of the namespace."""
    return [
        v
        for v in client.vector_stores.list(limit=100)
        if (v.metadata or {}).get(NAMESPACE_KEY) == namespace
        and ({LOCK_KEY, JOURNAL_KEY} & set(v.metadata or {}))
    ]


def lock_client(proxy: FaultProxy) -> Api:
    """An :class:`Api` through the proxy without retries, for taking locks by hand."""
    return Api(openai.OpenAI(base_url=proxy.base_url, api_key=API_KEY, max_retries=0))


def store_files(client: openai.OpenAI, vs_id: str) -> list[Any]:
    return list(client.vector_stores.files.list(vs_id, limit=100))


class Proj:
    """A project folder, and the CLI run against it (in-process, through the proxy)."""

    def __init__(self, root: Path, namespace: str, proxy: FaultProxy) -> None:
        self.root = root
        self.ns = namespace
        self.proxy = proxy
        self.runner = CliRunner()
        root.mkdir(parents=True, exist_ok=True)
        (root / "orchestrator.yaml").write_text(
            f"namespace: {namespace}\ndefaults:\n  model: gpt-4o\n", encoding="utf-8"
        )

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    def name(self, key: str) -> str:
        # Unique per test: other tests' unmanaged assistants must not look adoptable.
        return f"{key.title()} {self.ns}"

    def basic(self) -> None:
        """Two assistants: `tutor` (code interpreter + a CSV) and `quiz` (function + docs)."""
        self.write("assistants/functions/lookup_grade.json", json.dumps(FUNCTION, indent=2))
        self.write("assistants/data/scores.csv", SCORES_CSV)
        self.write("assistants/docs/algebra.md", "# Algebra\nA variable stands for a number.\n")
        self.write("assistants/docs/geometry.md", "# Geometry\nA triangle has three sides.\n")
        self.write(
            "assistants/tutor.yaml",
            f"""
            kind: Assistant
            name: {self.name("tutor")}
            instructions: |
              You are a patient math tutor.
              Answer briefly.
            temperature: 0.3
            tools:
              - code_interpreter
            files:
              code_interpreter: [data/scores.csv]
            metadata:
              team: edu
            """,
        )
        self.write(
            "assistants/quiz.yaml",
            f"""
            kind: Assistant
            name: {self.name("quiz")}
            instructions: Make quizzes from the notes.
            tools:
              - file_search: {{max_num_results: 5}}
              - function: functions/lookup_grade.json
            files:
              file_search: [docs/*.md]
            """,
        )

    def cli(self, *args: str, input: str | None = None, target: bool = True) -> Result:
        command, rest = args[0], list(args[1:])
        opts = ["-C", str(self.root)]
        if target:
            opts += ["--base-url", self.proxy.base_url, "--api-key", API_KEY]
        env = {
            "OPENAI_BASE_URL": None,
            "OPENAI_API_KEY": None,
            "ORCHESTRATOR_NAMESPACE": None,
            # One server that lists what it wrote at once: no need to wait for lagging lists.
            "ORCHESTRATOR_LOCK_SETTLE_SECONDS": "0.05",
        }
        return self.runner.invoke(
            cli, [command, *opts, *rest], input=input, env=env, catch_exceptions=False
        )

    def ok(self, *args: str) -> Result:
        r = self.cli(*args)
        assert r.exit_code == 0, f"exit {r.exit_code}\n{r.output}"
        return r

    def plan_json(self, *args: str) -> dict[str, Any]:
        r = self.ok("plan", "--json", *args)
        return json.loads(r.stdout)

    def lockfile(self) -> dict[str, Any]:
        name = "assistants.lock.json" if self.ns == "default" else f"assistants.{self.ns}.lock.json"
        return json.loads((self.root / name).read_text(encoding="utf-8"))

    def subprocess_cli(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ}
        for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ORCHESTRATOR_NAMESPACE"):
            env.pop(k, None)
        command = [
            sys.executable,
            "-m",
            "orchestrator",
            args[0],
            "-C",
            str(self.root),
            "--base-url",
            self.proxy.base_url,
            "--api-key",
            API_KEY,
            *args[1:],
        ]
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=interruptible,
        )


__all__ = [
    "FUNCTION",
    "SCORES_CSV",
    "Faults",
    "Managed",
    "Proj",
    "bookkeeping",
    "lock_client",
    "managed",
    "orphans",
    "store_files",
]
