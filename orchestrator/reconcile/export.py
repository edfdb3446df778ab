"""``orchestrator export``: assistants on the server -> YAML (+ function JSON, prompts, files).

The output is what the loader reads back into the same desired state, so ``export``
then ``plan`` shows no changes for managed assistants (and, for unmanaged ones, only
the adoption: each YAML names the assistant it came from in ``adopt: {id: ...}``, which
``apply --adopt`` takes over). Managed assistants go to ``<out>/``, unmanaged ones to
``<out>/imported/``; in each, per assistant ``<key>.yaml``; functions in
``functions/<name>.json``; multi-line instructions in ``prompts/<key>.md``; files
downloaded into ``files/<store or assistant key>/``. ``${`` in strings is written as
``$${`` so the loader's variable interpolation leaves it alone.

Nothing is written before everything was fetched; an assistant whose YAML (or one of
its own files) exists and differs is skipped whole (``overwrite`` replaces), so no
prompt or file copy is left without the YAML that uses it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import yaml

from orchestrator.ownership import KEY_KEY, RESERVED_METADATA_KEYS, is_managed
from orchestrator.project.assistants import FUNCTION_NAME_RE, KEY_RE
from orchestrator.reconcile.actual import ActualAssistant, fetch_actual
from orchestrator.reconcile.api import describe_error
from orchestrator.reconcile.errors import ReconcileError
from orchestrator.reconcile.identity import display_filename
from orchestrator.reconcile.normalise import DEFAULT_CHUNKING, normalise_tool
from orchestrator.reconcile.target import ReconcileTarget

_KEY_RE = re.compile(r"[^A-Za-z0-9._-]+")


IMPORTED_DIR = "imported"


class ExportPathError(ReconcileError):
    """A path built from server data would leave the output folder."""


class ExportSelectError(ReconcileError):
    """Assistants asked for by id, key or name that the server does not have."""

    def __init__(self, missing: list[str], where: str) -> None:
        self.missing = missing
        names = ", ".join(repr(m) for m in missing)
        super().__init__(
            f"no assistant {where}matches {names} (by id, key or name); nothing was exported. "
            "`orchestrator export` without arguments exports them all"
        )


@dataclass
class ExportOptions:
    out_dir: Path
    # Only these assistants (ids, keys or names); empty: all of them.
    select: list[str] = field(default_factory=list)
    include_managed: bool = True
    include_unmanaged: bool = True
    download_files: bool = True
    overwrite: bool = False


@dataclass
class ExportedAssistant:
    key: str
    id: str
    name: str | None
    managed: bool
    # Its YAML file.
    path: Path
    # "written", "unchanged" (the same file was there), or "skipped" (one of its files
    # exists and differs: nothing of it was written).
    status: str = "written"


@dataclass
class ExportReport:
    written: list[Path] = field(default_factory=list)
    assistants: list[ExportedAssistant] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def exported(self) -> list[ExportedAssistant]:
        return [a for a in self.assistants if a.status != "skipped"]

    @property
    def skipped(self) -> list[ExportedAssistant]:
        return [a for a in self.assistants if a.status == "skipped"]


def slug(text: str) -> str:
    s = _KEY_RE.sub("-", text.strip().lower()).strip("-._")
    return s[:64] or "assistant"


def _file_name(name: str, fallback: str) -> str:
    """A file name from the server as one safe path part: no separators, no glob
    characters (the loader expands globs), no control characters, not ``.``/``..``."""
    name = re.sub(r"[/\\*?\[\]\"\x00-\x1f\x7f]", "_", name).strip()
    return fallback if name.strip(".") == "" else name[:255]


def _escape(value: Any) -> Any:
    """Strings as the loader reads them back: ``${`` is interpolation there."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


class _Exporter:
    def __init__(
        self, api: ReconcileTarget, namespace: str, root: Path, options: ExportOptions
    ) -> None:
        self.api = api
        self.ns = namespace
        self.root = root.resolve()
        self.opt = options
        self.out = options.out_dir.resolve()
        self.report = ExportReport()
        self.planned: dict[Path, bytes] = {}
        # The assistants whose YAML needs each path (shared functions and files: several).
        self.owners: dict[Path, set[str]] = {}
        # The folder of the assistant being exported (managed: out, unmanaged: imported/),
        # and its key.
        self.base = self.out
        self.key = ""
        self.functions: dict[tuple[Path, str], Path] = {}  # (base, function json) -> path
        self.file_dirs: dict[tuple[Path, str], list[Path]] = {}  # (base, group) -> paths

    def _relpath(self, path: Path) -> str:
        return os.path.relpath(path, self.base).replace(os.sep, "/")

    def _put(self, path: Path, data: bytes) -> None:
        # Every part was sanitised; this is the guard that holds even if one was not.
        if not path.resolve().is_relative_to(self.out):
            raise ExportPathError(f"refusing to write {path}: it is outside {self.out}")
        if path in self.planned and self.planned[path] != data:
            raise AssertionError(f"two different exports for {path}")
        self.planned[path] = data
        self.owners.setdefault(path, set()).add(self.key)

    def _need(self, paths: list[Path]) -> None:
        """Paths exported earlier (shared) that the current assistant uses too."""
        for path in paths:
            self.owners.setdefault(path, set()).add(self.key)

    def run(self) -> ExportReport:
        try:
            self.out.relative_to(self.root)
        except ValueError:
            self.report.warnings.append(
                f"{self.out} is outside the project {self.root}: the loader will not read "
                "files from there"
            )
        actual = fetch_actual(self.api, self.ns)
        files_by_id = {f["id"]: f for f in self.api.list_files()}
        chosen: list[tuple[ActualAssistant, bool]] = []
        if self.opt.include_managed:
            # A file record (api: openai) is no assistant of its own: its YAML says it all.
            chosen += [(a, True) for a in actual.assistants if a.raw.get("object") != "record"]
        if self.opt.include_unmanaged:
            chosen += [(a, False) for a in actual.unmanaged_assistants]
        if self.opt.select:
            want = set(self.opt.select)
            chosen = [(a, m) for a, m in chosen if {a.id, a.key, a.name or ""} & want]
            missing = want - {x for a, _ in chosen for x in (a.id, a.key, a.name)}
            if missing:
                where = (
                    ""
                    if self.opt.include_managed and self.opt.include_unmanaged
                    else "managed in this namespace "
                    if self.opt.include_managed
                    else "unmanaged "
                )
                # Before anything is written: asked for by name, a typo is an error.
                raise ExportSelectError(sorted(missing), where)
        chosen.sort(key=lambda t: (t[0].created_at, t[0].id))
        used_keys: set[str] = {a.key for a, m in chosen if m}
        stores = {v.id: v for v in actual.vector_stores}
        store_keys: dict[str, str] = {}  # vector store id -> key written
        for a, managed in chosen:
            if managed and KEY_RE.match(a.key):
                key = a.key
            else:
                if managed:
                    # Server data becomes file names: a key that is no key is not one.
                    self.report.warnings.append(
                        f"assistant {a.id} has the key {a.key!r}, which is not a valid key; "
                        "exported under a new one (apply will replace it)"
                    )
                key = base = slug(a.name or a.id)
                n = 2
                while key in used_keys:
                    key, n = f"{base}-{n}", n + 1
                used_keys.add(key)
            self.base = self.out if managed else self.out / IMPORTED_DIR
            self.key = key
            self._assistant(a, key, stores, store_keys, files_by_id)
            self.report.assistants.append(
                ExportedAssistant(
                    key=key, id=a.id, name=a.name, managed=managed, path=self.base / f"{key}.yaml"
                )
            )
        self._write()
        return self.report

    def _write(self) -> None:
        """Write what every assistant needs; skip an assistant whose files are in the way."""
        differs = {
            path
            for path, data in self.planned.items()
            if not self.opt.overwrite and path.exists() and path.read_bytes() != data
        }
        skipped: set[str] = set()
        for exported in self.report.assistants:
            mine = sorted(p for p, keys in self.owners.items() if exported.key in keys)
            blocking = [p for p in mine if p in differs]
            if blocking:
                exported.status = "skipped"
                skipped.add(exported.key)
                shown = ", ".join(str(p) for p in blocking)
                self.report.warnings.append(
                    f"assistant {exported.key} ({exported.id}) not exported: {shown} exists and "
                    "differs (use --force to overwrite)"
                )
        written: set[Path] = set()
        for path, data in sorted(self.planned.items()):
            if not self.owners[path] - skipped or path in differs:
                continue  # only skipped assistants need it (or it is in the way)
            if path.exists() and path.read_bytes() == data:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.add(path)
            self.report.written.append(path)
        for exported in self.report.assistants:
            if exported.status != "skipped":
                mine = {p for p, keys in self.owners.items() if exported.key in keys}
                exported.status = "written" if mine & written else "unchanged"

    # -- pieces ---------------------------------------------------------------------------

    def _function_ref(self, fn: dict[str, Any], key: str) -> str:
        body: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description"):
            body["description"] = fn["description"]
        body["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
        if fn.get("strict"):
            body["strict"] = True
        text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
        if (self.base, text) in self.functions:
            done = self.functions[(self.base, text)]
            self._need([done])
            return self._relpath(done)
        name = fn["name"]
        if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
            self.report.warnings.append(
                f"assistant {key}: function name {name!r} is not a valid function name "
                "(letters, digits, _ and -, at most 64); its file is named after a slug of it"
            )
            name = slug(str(name)) if str(name).strip() else "function"
        path = self.base / "functions" / f"{name}.json"
        if path in self.planned and self.planned[path] != text.encode():
            path = self.base / "functions" / f"{key}--{name}.json"
        self._put(path, text.encode())
        self.functions[(self.base, text)] = path
        return self._relpath(path)

    def _download(
        self, file_ids: list[str], group: str, files_by_id: dict[str, Any], what: str
    ) -> list[str]:
        """Download files into files/<group>/; return the relative paths."""
        if (self.base, group) in self.file_dirs:
            done = self.file_dirs[(self.base, group)]
            self._need(done)
            return [self._relpath(p) for p in done]
        paths: list[Path] = []
        names: set[str] = set()
        for fid in file_ids:
            meta = files_by_id.get(fid)
            # Real names; uploads of earlier versions carry a hash-tagged one.
            name = display_filename(meta["filename"]) if meta else fid
            name = _file_name(name, fid)
            if name in names:
                stem, dot, ext = name.rpartition(".")
                name = f"{stem}-{fid[-6:]}.{ext}" if dot else f"{name}-{fid[-6:]}"
            if not self.opt.download_files:
                self.report.warnings.append(f"{what}: file {fid} ({name}) not downloaded")
                continue
            try:
                data = self.api.file_content(fid, what=f"download {fid}")
            except openai.APIError as e:
                self.report.warnings.append(
                    f"{what}: could not download file {fid} ({name}): {describe_error(e)}; "
                    "add it to the YAML by hand"
                )
                continue
            names.add(name)
            path = self.base / "files" / group / name
            self._put(path, data)
            paths.append(path)
        self.file_dirs[(self.base, group)] = paths
        return [self._relpath(p) for p in paths]

    def _assistant(
        self,
        a: ActualAssistant,
        key: str,
        stores: dict[str, Any],
        store_keys: dict[str, str],
        files_by_id: dict[str, Any],
    ) -> None:
        raw = a.raw
        what = f"assistant {key} ({a.id})"
        doc: dict[str, Any] = {"kind": "Assistant", "key": key, "adopt": {"id": a.id}}
        for name in ("name", "description"):
            if raw.get(name):
                doc[name] = raw[name]
        doc["model"] = raw.get("model")
        instructions = raw.get("instructions")
        if instructions:
            if "\n" in instructions and "\r" not in instructions:
                path = self.base / "prompts" / f"{key}.md"
                self._put(path, instructions.encode("utf-8"))
                doc["instructions_file"] = self._relpath(path)
            else:
                doc["instructions"] = instructions
        for name in ("temperature", "top_p"):
            value = raw.get(name)
            if value is not None and round(float(value), 6) != 1.0:
                doc[name] = value
        fmt = raw.get("response_format")
        if fmt not in (None, "auto"):
            doc["response_format"] = fmt
        if raw.get("reasoning_effort"):
            doc["reasoning_effort"] = raw["reasoning_effort"]
        if raw.get("object") == "agent":
            doc["agent"] = True  # a Managed Agent (api: openai)
        tools: list[Any] = []
        for tool in raw.get("tools") or []:
            t = normalise_tool(tool)
            if t["type"] not in ("function", "file_search", "code_interpreter"):
                # An agent's web_search, mcp, ...: no YAML for them (yet).
                self.report.warnings.append(
                    f"{what}: its {t['type']} tool has no YAML form and is not exported"
                )
                continue
            if t["type"] == "function":
                tools.append({"function": self._function_ref(t["function"], key)})
            elif t["type"] == "file_search" and t.get("file_search"):
                opts = dict(t["file_search"])
                ranking = opts.get("ranking_options")
                if ranking is not None:
                    opts["ranking_options"] = {
                        "ranker": ranking.get("ranker", "auto"),
                        "score_threshold": ranking.get("score_threshold", 0.0),
                    }
                tools.append({"file_search": opts})
            else:
                tools.append(t["type"])
        if tools:
            doc["tools"] = tools
        files: dict[str, Any] = {}
        if a.code_interpreter_file_ids:
            files["code_interpreter"] = self._download(
                a.code_interpreter_file_ids, f"{key}-code", files_by_id, what
            )
        if len(a.vector_store_ids) > 1:
            self.report.warnings.append(
                f"{what}: uses {len(a.vector_store_ids)} vector stores; only the first is "
                "exported (an assistant has one)"
            )
        if a.vector_store_ids:
            files["file_search"] = self._store(
                a.vector_store_ids[0], key, stores, store_keys, files_by_id, what
            )
        if files:
            doc["files"] = files
        user_meta = {k: v for k, v in a.metadata.items() if k not in RESERVED_METADATA_KEYS}
        if user_meta:
            doc["metadata"] = user_meta
        schema = os.path.relpath(self.root / "schemas" / "assistant.schema.json", self.base)
        text = f"# yaml-language-server: $schema={schema.replace(os.sep, '/')}\n"
        text += f"# Exported from {a.id}"
        text += " (managed)\n" if is_managed(a.metadata, self.ns) else " (unmanaged)\n"
        text += yaml.dump(
            _escape(doc), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
        )
        self._put(self.base / f"{key}.yaml", text.encode("utf-8"))

    def _store(
        self,
        vs_id: str,
        key: str,
        stores: dict[str, Any],
        store_keys: dict[str, str],
        files_by_id: dict[str, Any],
        what: str,
    ) -> Any:
        managed = stores.get(vs_id)
        if vs_id in store_keys:
            store_key = store_keys[vs_id]
        else:
            store_key = managed.metadata.get(KEY_KEY) if managed else key
            if not isinstance(store_key, str) or not KEY_RE.match(store_key):
                self.report.warnings.append(
                    f"{what}: vector store {vs_id} has the key {store_key!r}, which is not a "
                    f"valid key; exported as {key!r}"
                )
                store_key = key
            store_keys[vs_id] = store_key
        if managed is not None:
            listed = managed.files
            ids = [f.file_id for f in listed]
            chunking = next((f.chunking_strategy for f in listed if f.chunking_strategy), None)
        else:
            try:
                raw_files = self.api.list_vector_store_files(vs_id)
            except openai.APIError as e:
                self.report.warnings.append(
                    f"{what}: could not list vector store {vs_id}: {describe_error(e)}"
                )
                return []
            ids = [f["id"] for f in raw_files]
            chunking = next((f.get("chunking_strategy") for f in raw_files), None)
        paths = self._download(ids, store_key, files_by_id, what)
        out: dict[str, Any] = {}
        if store_key != key:
            out["vector_store"] = store_key
        if chunking and chunking.get("type") == "static" and chunking != DEFAULT_CHUNKING:
            out["chunking_strategy"] = chunking
        if not out:
            return paths
        out["paths"] = paths
        return out


def export_assistants(
    api: ReconcileTarget, namespace: str, root: Path, options: ExportOptions
) -> ExportReport:
    """Write YAML for the server's assistants (managed in ``namespace`` and unmanaged)."""
    return _Exporter(api, namespace, root, options).run()


EXPORT_FORMAT_VERSION = 1


def report_to_json(report: ExportReport, root: Path) -> dict[str, Any]:
    """The ``export --json`` document (versioned like ``plan --json``)."""

    def show(path: Path) -> str:
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)

    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "assistants": [
            {
                "key": a.key,
                "id": a.id,
                "name": a.name,
                "managed": a.managed,
                "path": show(a.path),
                "status": a.status,
            }
            for a in report.assistants
        ],
        "written": [show(p) for p in report.written],
        "summary": {
            "exported": len(report.exported),
            "managed": sum(a.managed for a in report.exported),
            "unmanaged": sum(not a.managed for a in report.exported),
            "skipped": len(report.skipped),
            "files_written": len(report.written),
        },
        "warnings": report.warnings,
    }
