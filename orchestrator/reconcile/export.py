"""``orchestrator export``: assistants on the server -> YAML (+ function JSON, prompts, files).

The output is what the loader reads back into the same desired state, so ``export``
then ``plan`` shows no changes for managed assistants (and, for unmanaged ones, only
the adoption). Per assistant ``<out>/<key>.yaml``; functions in
``<out>/functions/<name>.json``; multi-line instructions in ``<out>/prompts/<key>.md``;
files downloaded into ``<out>/files/<store or assistant key>/``. ``${`` in strings is
written as ``$${`` so the loader's variable interpolation leaves it alone.
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


class ExportPathError(ReconcileError):
    """A path built from server data would leave the output folder."""


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
class ExportReport:
    written: list[Path] = field(default_factory=list)
    assistants: list[tuple[str, str]] = field(default_factory=list)  # (key, id)
    warnings: list[str] = field(default_factory=list)


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
        self.functions: dict[str, str] = {}  # function json text -> relative path
        self.file_dirs: dict[str, list[str]] = {}  # "<group>": relative paths written

    def _relpath(self, path: Path) -> str:
        return os.path.relpath(path, self.out).replace(os.sep, "/")

    def _put(self, path: Path, data: bytes) -> None:
        # Every part was sanitised; this is the guard that holds even if one was not.
        if not path.resolve().is_relative_to(self.out):
            raise ExportPathError(f"refusing to write {path}: it is outside {self.out}")
        if path in self.planned and self.planned[path] != data:
            raise AssertionError(f"two different exports for {path}")
        self.planned[path] = data

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
            for m in sorted(missing):
                self.report.warnings.append(f"no assistant matches {m!r} (id, key or name)")
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
            self._assistant(a, key, stores, store_keys, files_by_id)
            self.report.assistants.append((key, a.id))
        for path, data in sorted(self.planned.items()):
            if path.exists() and not self.opt.overwrite:
                if path.read_bytes() != data:
                    self.report.warnings.append(
                        f"{path} exists and differs: not overwritten (use --force)"
                    )
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.report.written.append(path)
        return self.report

    # -- pieces ---------------------------------------------------------------------------

    def _function_ref(self, fn: dict[str, Any], key: str) -> str:
        body: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description"):
            body["description"] = fn["description"]
        body["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
        if fn.get("strict"):
            body["strict"] = True
        text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
        if text in self.functions:
            return self.functions[text]
        name = fn["name"]
        if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
            self.report.warnings.append(
                f"assistant {key}: function name {name!r} is not a valid function name "
                "(letters, digits, _ and -, at most 64); its file is named after a slug of it"
            )
            name = slug(str(name)) if str(name).strip() else "function"
        path = self.out / "functions" / f"{name}.json"
        if path in self.planned and self.planned[path] != text.encode():
            path = self.out / "functions" / f"{key}--{name}.json"
        self._put(path, text.encode())
        rel = self._relpath(path)
        self.functions[text] = rel
        return rel

    def _download(
        self, file_ids: list[str], group: str, files_by_id: dict[str, Any], what: str
    ) -> list[str]:
        """Download files into files/<group>/; return the relative paths."""
        if group in self.file_dirs:
            return self.file_dirs[group]
        rels: list[str] = []
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
            path = self.out / "files" / group / name
            self._put(path, data)
            rels.append(self._relpath(path))
        self.file_dirs[group] = rels
        return rels

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
        doc: dict[str, Any] = {"kind": "Assistant", "key": key}
        for name in ("name", "description"):
            if raw.get(name):
                doc[name] = raw[name]
        doc["model"] = raw.get("model")
        instructions = raw.get("instructions")
        if instructions:
            if "\n" in instructions and "\r" not in instructions:
                path = self.out / "prompts" / f"{key}.md"
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
        schema = os.path.relpath(self.root / "schemas" / "assistant.schema.json", self.out)
        text = f"# yaml-language-server: $schema={schema.replace(os.sep, '/')}\n"
        text += f"# Exported from {a.id}"
        text += " (managed)\n" if is_managed(a.metadata, self.ns) else " (unmanaged)\n"
        text += yaml.dump(
            _escape(doc), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
        )
        self._put(self.out / f"{key}.yaml", text.encode("utf-8"))

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
