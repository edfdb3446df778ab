"""``kind: Assistant`` documents -> :class:`AssistantSpec`, with the checks a schema cannot do.

The document has already been interpolated, merged with the project defaults and checked
against ``assistant.schema.json``; this module still reads every field defensively, so a
file with a schema error still gets its other problems (missing files, bad function
schemas, API limits) reported in the same run.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.project import schema_check
from orchestrator.project.agent_rules import agent_blockers
from orchestrator.project.diagnostics import Diagnostics
from orchestrator.project.documents import Document, PathKey, parse_json, parse_yaml, read_text
from orchestrator.project.json_schemas import metaschema_problems, strict_problems
from orchestrator.project.paths import PathResolver
from orchestrator.project.specs import (
    AssistantSpec,
    FunctionSpec,
    Location,
    ToolSpec,
    VectorStoreSpec,
)

KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FUNCTION_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_INSTRUCTIONS = 256_000
MAX_CODE_INTERPRETER_FILES = 20
MAX_VECTOR_STORE_FILES = 10_000
# File types OpenAI's file search accepts (the embedded server reads text and PDF).
FILE_SEARCH_TYPES = {
    ".c", ".cpp", ".cs", ".css", ".doc", ".docx", ".go", ".html", ".java", ".js", ".json",
    ".md", ".pdf", ".php", ".pptx", ".py", ".rb", ".sh", ".tex", ".ts", ".txt",
}  # fmt: skip


@dataclass
class LoadedAssistant:
    spec: AssistantSpec
    doc: Document
    # Other files this definition read (instructions, functions): their problems belong to it.
    related: set[Path] = field(default_factory=set)
    # Where `files.file_search` was written, for shared-vector-store diagnostics.
    vector_store_loc: Location | None = None


def _str(data: dict[str, Any], key: str) -> str | None:
    v = data.get(key)
    return v if isinstance(v, str) else None


def _number(data: dict[str, Any], key: str) -> float | None:
    v = data.get(key)
    # 1 and 1.0 must hash the same.
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _patterns(value: Any, doc: Document, path: PathKey) -> tuple[list[str], list[Location]]:
    if isinstance(value, str):
        return [value], [doc.loc(path)]
    if isinstance(value, list):
        pairs = [(v, doc.loc((*path, i))) for i, v in enumerate(value) if isinstance(v, str) and v]
        return [p for p, _ in pairs], [loc for _, loc in pairs]
    return [], []


class AssistantBuilder:
    def __init__(self, doc: Document, resolver: PathResolver, diags: Diagnostics) -> None:
        self.doc = doc
        self.resolver = resolver
        self.diags = diags
        self.base = doc.path.parent
        self.related: set[Path] = set()

    def build(self) -> LoadedAssistant | None:
        doc, data = self.doc, self.doc.data
        key = _str(data, "key")
        if key is None or not KEY_RE.match(key):
            if "key" in data:
                key = None  # the schema check reported it
            elif KEY_RE.match(doc.path.stem):
                key = doc.path.stem
            else:
                self.diags.error(
                    doc.loc(),
                    f"the file name '{doc.path.stem}' is not a valid assistant key (letters, digits, "
                    "'.', '_', '-'): set `key:` in the file",
                )
        model = _str(data, "model")
        if "model" not in data:
            self.diags.error(
                doc.loc(),
                "missing required field 'model' in assistant (the model it runs on, e.g. gpt-4o): "
                "set it here or in orchestrator.yaml `defaults`",
            )
        instructions, instructions_at = self._instructions(data)
        spec = AssistantSpec(
            key=key or doc.path.stem,
            source=doc.loc(),
            model=model or "",
            name=_str(data, "name"),
            description=_str(data, "description"),
            instructions=instructions,
            instructions_source=instructions_at,
            metadata={
                k: v
                for k, v in (data.get("metadata") or {}).items()
                if isinstance(k, str) and isinstance(v, str)
            }
            if isinstance(data.get("metadata"), dict)
            else {},
            temperature=_number(data, "temperature"),
            top_p=_number(data, "top_p"),
            response_format=self._response_format(data.get("response_format")),
            reasoning_effort=_str(data, "reasoning_effort"),
            adopt_id=_str(data["adopt"], "id") if isinstance(data.get("adopt"), dict) else None,
        )
        spec.tools = self._tools(data.get("tools"))
        loaded = LoadedAssistant(spec, doc, self.related)
        self._files(data.get("files"), spec, loaded)
        self._agent(data, spec)
        return loaded

    # --- agent ---------------------------------------------------------------------------

    def _agent(self, data: dict[str, Any], spec: AssistantSpec) -> None:
        """``agent: true``: a Managed Agent on `api: openai`, if an agent can hold it."""
        if data.get("agent") is not True:
            return
        loc = self.doc.loc(("agent",))
        spec.agent = True
        spec.agent_from_defaults = loc.path != self.doc.path
        blockers = agent_blockers(spec)
        if not blockers:
            return
        reasons = "; ".join(str(b) for b in blockers)
        if spec.agent_from_defaults:
            # The project's default: this one simply stays off agents (profile only).
            self.diags.warning(
                self.doc.loc(),
                f"not published as a Managed Agent (orchestrator.yaml defaults.agent): {reasons}",
            )
        else:
            self.diags.error(
                loc,
                f"agent: true, but a Managed Agent cannot hold this assistant: {reasons}. "
                "Remove agent: true (its Responses profile still carries everything)",
            )

    # --- instructions ------------------------------------------------------------------

    def _instructions(self, data: dict[str, Any]) -> tuple[str | None, Location | None]:
        """The instructions, and where they are written (the prompt file, or the key)."""
        written = _str(data, "instructions_file")
        if written is None:
            text = _str(data, "instructions")
            return text, self.doc.loc(("instructions",)) if text is not None else None
        loc = self.doc.loc(("instructions_file",))
        path = self.resolver.file(self.base, written, loc, "instructions_file")
        if path is None:
            return None, None
        self.related.add(path)
        text = read_text(path, self.diags, "instructions_file")
        if text is not None and len(text) > MAX_INSTRUCTIONS:
            self.diags.error(
                loc,
                f"instructions in '{written}' are {len(text):,} characters long; the API allows "
                f"at most {MAX_INSTRUCTIONS:,}",
            )
        return text, Location(path)

    # --- tools ---------------------------------------------------------------------------

    def _tools(self, tools: Any) -> list[ToolSpec]:
        if not isinstance(tools, list):
            return []
        out: list[ToolSpec] = []
        seen_types: dict[str, int] = {}
        seen_functions: dict[str, int] = {}
        for i, item in enumerate(tools):
            path: PathKey = ("tools", i)
            tool: ToolSpec | None = None
            if item in ("code_interpreter", "file_search"):
                tool = ToolSpec(type=item)
            elif isinstance(item, dict) and len(item) == 1:
                ((kind, value),) = item.items()
                if kind == "code_interpreter" and not value:
                    tool = ToolSpec(type="code_interpreter")
                elif kind == "file_search" and (value is None or isinstance(value, dict)):
                    tool = ToolSpec(
                        type="file_search", file_search=self._file_search_options(value)
                    )
                elif kind == "function":
                    fn = self._function(value, (*path, "function"))
                    if fn is not None:
                        tool = ToolSpec(type="function", function=fn)
            if tool is None:
                continue  # the schema check reported what is wrong with it
            if tool.function is not None:
                name = tool.function.name
                if name in seen_functions:
                    self.diags.error(
                        self.doc.loc(path),
                        f"function '{name}' is declared twice (also tools[{seen_functions[name]}]): "
                        "function names must be unique",
                    )
                    continue
                seen_functions[name] = i
            elif tool.type in seen_types:
                self.diags.error(
                    self.doc.loc(path),
                    f"the {tool.type} tool is listed twice (also tools[{seen_types[tool.type]}])",
                )
                continue
            else:
                seen_types[tool.type] = i
            out.append(tool)
        return out

    @staticmethod
    def _file_search_options(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if not value:
            return None
        out: dict[str, Any] = {}
        if isinstance(value.get("max_num_results"), int):
            out["max_num_results"] = value["max_num_results"]
        ranking = value.get("ranking_options")
        if isinstance(ranking, dict):
            r: dict[str, Any] = {}
            if isinstance(ranking.get("ranker"), str):
                r["ranker"] = ranking["ranker"]
            if isinstance(ranking.get("score_threshold"), int | float):
                r["score_threshold"] = float(ranking["score_threshold"])
            out["ranking_options"] = r
        return out or None

    def _function(self, value: Any, path: PathKey) -> FunctionSpec | None:
        if isinstance(value, str):
            return self._function_file(value, path)
        if isinstance(value, dict):
            return self._function_spec(value, self.doc, path, "function")
        return None

    def _function_file(self, written: str, path: PathKey) -> FunctionSpec | None:
        loc = self.doc.loc(path)
        file = self.resolver.file(self.base, written, loc, "function file")
        if file is None:
            return None
        self.related.add(file)
        text = read_text(file, self.diags, "function file")
        if text is None:
            return None
        if file.suffix in (".yaml", ".yml"):
            fdoc = parse_yaml(file, text, self.diags, "function file")
        else:
            fdoc = parse_json(file, text, self.diags, "function file")
        if fdoc is None:
            return None
        data, base = fdoc.data, ()
        # Accept the API's tool shape too: {"type": "function", "function": {...}}.
        if isinstance(data, dict) and data.get("type") == "function" and "function" in data:
            data, base = data["function"], ("function",)
        if not isinstance(data, dict):
            self.diags.error(
                fdoc.loc(base),
                "a function file holds one JSON object {name, description, parameters, strict}",
            )
            return None
        label = f"function in {file.name}"
        return self._function_spec(data, fdoc, base, label)

    def _function_spec(
        self, data: dict[str, Any], doc: Document, path: PathKey, label: str
    ) -> FunctionSpec | None:
        # Inline functions were checked with the whole assistant; files on their own.
        if doc is not self.doc and schema_check.check(
            doc, "Assistant", self.diags, data=data, base=path, definition="function"
        ):
            return None
        name = _str(data, "name")
        if name is None or not FUNCTION_NAME_RE.match(name):
            return None
        params = data.get("parameters")
        strict = data.get("strict") if isinstance(data.get("strict"), bool) else None
        fn = FunctionSpec(name=name, description=_str(data, "description"), strict=strict)
        if params is None:
            return fn
        if not isinstance(params, dict):
            return None

        def locate(sub: tuple[str | int, ...]) -> Location:
            return doc.loc((*path, "parameters", *sub))

        what = f"parameters of function '{name}'"
        problems = metaschema_problems(params, what, locate)
        if not problems and params.get("type") != "object":
            problems.append(
                (
                    locate(("type",)),
                    f"{what} must be a JSON Schema with type: object, got type {params.get('type')!r}",
                )
            )
        if strict:
            problems += strict_problems(params, f"{what}", locate)
        for loc, msg in problems:
            self.diags.error(loc, msg)
        fn.parameters = copy.deepcopy(params)
        return fn

    # --- response_format -----------------------------------------------------------------

    def _response_format(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict) and value.get("type") == "json_schema":
            js = value.get("json_schema")
            if isinstance(js, dict) and isinstance(js.get("schema"), dict):
                base: PathKey = ("response_format", "json_schema", "schema")

                def locate(sub: tuple[str | int, ...]) -> Location:
                    return self.doc.loc((*base, *sub))

                what = "response_format.json_schema.schema"
                problems = metaschema_problems(js["schema"], what, locate)
                if js.get("strict") is True:
                    problems += strict_problems(js["schema"], what, locate)
                for loc, msg in problems:
                    self.diags.error(loc, msg)
        return copy.deepcopy(value)

    # --- files ---------------------------------------------------------------------------

    def _files(self, files: Any, spec: AssistantSpec, loaded: LoadedAssistant) -> None:
        if not isinstance(files, dict):
            return
        tool_types = {t.type for t in spec.tools}
        ci = files.get("code_interpreter")
        if ci is not None:
            patterns, locs = _patterns(ci, self.doc, ("files", "code_interpreter"))
            refs = self.resolver.refs(self.base, patterns, locs, "code_interpreter file")
            if len(refs) > MAX_CODE_INTERPRETER_FILES:
                self.diags.error(
                    self.doc.key_loc(("files", "code_interpreter")),
                    f"files.code_interpreter matches {len(refs)} files; the code interpreter "
                    f"takes at most {MAX_CODE_INTERPRETER_FILES}",
                )
            spec.code_interpreter_files = refs
            if refs and "code_interpreter" not in tool_types:
                self.diags.warning(
                    self.doc.key_loc(("files", "code_interpreter")),
                    "files.code_interpreter is set but the assistant has no code_interpreter tool: "
                    "add `- code_interpreter` to tools",
                )
        fs = files.get("file_search")
        if fs is None:
            return
        path: PathKey = ("files", "file_search")
        store_key, chunking = spec.key, None
        if isinstance(fs, dict):
            if isinstance(fs.get("vector_store"), str) and KEY_RE.match(fs["vector_store"]):
                store_key = fs["vector_store"]
            chunking = self._chunking(fs.get("chunking_strategy"))
            patterns, locs = _patterns(fs.get("paths"), self.doc, (*path, "paths"))
        else:
            patterns, locs = _patterns(fs, self.doc, path)
        refs = self.resolver.refs(self.base, patterns, locs, "file_search file")
        if len(refs) > MAX_VECTOR_STORE_FILES:
            self.diags.error(
                self.doc.key_loc(path),
                f"files.file_search matches {len(refs)} files; a vector store holds at most "
                f"{MAX_VECTOR_STORE_FILES:,}",
            )
        for ref in refs:
            if ref.path.suffix.lower() not in FILE_SEARCH_TYPES:
                self.diags.warning(
                    self.doc.key_loc(path),
                    f"'{ref.rel}': file search does not index {ref.path.suffix or 'extension-less'} "
                    f"files (supported: {', '.join(sorted(FILE_SEARCH_TYPES))})",
                )
        spec.vector_store = VectorStoreSpec(key=store_key, files=refs, chunking_strategy=chunking)
        loaded.vector_store_loc = self.doc.key_loc(path)
        if "file_search" not in tool_types:
            self.diags.warning(
                self.doc.key_loc(path),
                "files.file_search is set but the assistant has no file_search tool: "
                "add `- file_search` to tools",
            )

    def _chunking(self, value: Any) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            return None
        static = value.get("static")
        if isinstance(static, dict):
            size, overlap = static.get("max_chunk_size_tokens"), static.get("chunk_overlap_tokens")
            if isinstance(size, int) and isinstance(overlap, int) and overlap > size // 2:
                self.diags.error(
                    self.doc.loc(
                        (
                            "files",
                            "file_search",
                            "chunking_strategy",
                            "static",
                            "chunk_overlap_tokens",
                        )
                    ),
                    f"chunk_overlap_tokens ({overlap}) may be at most half of max_chunk_size_tokens "
                    f"({size}), i.e. {size // 2}",
                )
        return copy.deepcopy(value)


def build_assistant(
    doc: Document, resolver: PathResolver, diags: Diagnostics
) -> LoadedAssistant | None:
    if not isinstance(doc.data, dict):
        return None
    return AssistantBuilder(doc, resolver, diags).build()
