"""Reading YAML and JSON files into data plus the location of every value.

PyYAML's ``safe_load`` throws away what the validator needs: where each value was
written, and duplicate mapping keys (it keeps the last one silently). So files are
composed into a node tree first; duplicates are found there, values are constructed
from it, and every path (``("tools", 1, "function")``) gets the line/column of its key
and of its value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.project.diagnostics import Diagnostics
from orchestrator.project.specs import Location

PathKey = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: `recorded_at: 2025-01-01` stays a string,
    as JSON Schema (and the API) expect."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# libyaml parses several times faster; its error messages are terser, so a file that does
# not parse is parsed again with the pure-Python loader to explain the error.
if getattr(yaml, "__with_libyaml__", False):

    class _FastLoader(yaml.CSafeLoader):  # type: ignore[misc,name-defined]
        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = _Loader  # type: ignore[misc,assignment]


@dataclass
class Document:
    """A parsed file: its data and where each value (and mapping key) was written."""

    path: Path
    data: Any
    values: dict[PathKey, Location] = field(default_factory=dict)
    keys: dict[PathKey, Location] = field(default_factory=dict)
    # Paths of unquoted scalars: after ${VAR} substitution they are re-typed like YAML
    # would (`temperature: ${TEMP:-0.2}` is a number).
    plain: set[PathKey] = field(default_factory=set)

    def loc(self, path: Sequence[str | int] = ()) -> Location:
        """Where the value at ``path`` starts (else its nearest written ancestor)."""
        key = tuple(path)
        while key:
            if key in self.values:
                return self.values[key]
            key = key[:-1]
        return self.values.get((), Location(self.path, 1, 1))

    def key_loc(self, path: Sequence[str | int]) -> Location:
        """Where the mapping key of ``path`` is written (for unknown or misplaced fields)."""
        return self.keys.get(tuple(path)) or self.loc(path)

    def graft(self, path: PathKey, other: Document, other_path: PathKey) -> None:
        """Record that the value at ``path`` came from ``other`` at ``other_path`` (defaults)."""
        n = len(other_path)
        for table, other_table in ((self.values, other.values), (self.keys, other.keys)):
            for k, v in other_table.items():
                if k[:n] == other_path:
                    table[path + k[n:]] = v
        for k in other.plain:
            if k[:n] == other_path:
                self.plain.add(path + k[n:])


def _loc(path: Path, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(path, 1, 1)
    return Location(path, mark.line + 1, mark.column + 1)


def read_text(path: Path, diags: Diagnostics, what: str = "file") -> str | None:
    """The file's text, or None with a diagnostic (missing, unreadable, not UTF-8)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        diags.error(Location(path), f"{what} not found")
        return None
    except OSError as e:
        diags.error(Location(path), f"cannot read {what}: {e.strerror or e}")
        return None
    return decode_utf8(path, raw, diags, what)


def decode_utf8(path: Path, raw: bytes, diags: Diagnostics, what: str = "file") -> str | None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        column = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")) + 1
        diags.error(
            Location(path, line, column),
            f"{what} is not valid UTF-8 (byte 0x{raw[e.start]:02x} cannot be decoded): "
            "save it as UTF-8",
        )
        return None
    # Same text on every OS: a Windows checkout must not change hashes.
    return text.replace("\r\n", "\n")


def _walk(
    doc: Document,
    node: yaml.Node,
    path: PathKey,
    key_of: Callable[[yaml.Node], Any],
    seen: set[int],
) -> None:
    doc.values.setdefault(path, _loc(doc.path, node.start_mark))
    if id(node) in seen:  # an alias of a node already walked (or a recursive one)
        return
    seen = seen | {id(node)}
    if isinstance(node, yaml.ScalarNode):
        if not node.style:  # None (PyYAML) or "" (libyaml): a plain scalar
            doc.plain.add(path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(doc, item, (*path, i), key_of, seen)
    elif isinstance(node, yaml.MappingNode):
        for k_node, v_node in node.value:
            if not isinstance(k_node, yaml.ScalarNode):
                continue
            key = key_of(k_node)
            if not isinstance(key, str | int):
                key = str(key)
            doc.keys.setdefault((*path, key), _loc(doc.path, k_node.start_mark))
            _walk(doc, v_node, (*path, key), key_of, seen)


def _duplicates(path: Path, node: yaml.Node, diags: Diagnostics) -> None:
    """Report repeated keys in every mapping (before merge keys are applied)."""
    stack = [node]
    done: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in done:
            continue
        done.add(id(n))
        if isinstance(n, yaml.MappingNode):
            first: dict[str, yaml.Node] = {}
            for k_node, v_node in n.value:
                stack.append(v_node)
                if (
                    not isinstance(k_node, yaml.ScalarNode)
                    or k_node.tag == "tag:yaml.org,2002:merge"
                ):
                    continue
                if k_node.value in first:
                    prev = first[k_node.value].start_mark
                    diags.error(
                        _loc(path, k_node.start_mark),
                        f"duplicate key '{k_node.value}' (first defined at line {prev.line + 1}); "
                        "YAML would silently keep only the last one: remove one of them",
                    )
                else:
                    first[k_node.value] = k_node
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


# Definitions are small, hand-written data. Past these bounds a file is hostile or broken:
# a few hundred bytes of nested aliases (an "alias bomb") expand to billions of values,
# and deep nesting exhausts the recursion of every reader after the parser.
MAX_NESTING = 64
MAX_VALUES = 200_000


@dataclass
class _Shape:
    """What a composed file would be as data, found without building it."""

    loop: yaml.Node | None = None  # a node that contains itself through an alias
    too_deep: yaml.Node | None = None  # the first node nested past MAX_NESTING
    values: int = 0  # values after aliases are expanded (capped at MAX_VALUES + 1)


def _children(n: yaml.Node) -> list[yaml.Node]:
    if isinstance(n, yaml.MappingNode):
        return [c for pair in n.value for c in pair]
    if isinstance(n, yaml.SequenceNode):
        return list(n.value)
    return []


def _shape(root: yaml.Node) -> _Shape:
    """Walk the node graph once (iteratively, each shared node once): cycles, depth, and
    the size aliases expand to."""
    size: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, Iterator[yaml.Node]]] = [(root, iter(_children(root)))]
    visiting.add(id(root))
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is None:
            stack.pop()
            visiting.discard(id(node))
            total = 1 + sum(size[id(c)] for c in _children(node))
            size[id(node)] = min(total, MAX_VALUES + 1)
            continue
        if id(child) in visiting:
            return _Shape(loop=child)
        if id(child) in size:
            continue
        if isinstance(child, yaml.ScalarNode):
            size[id(child)] = 1
            continue
        if len(stack) >= MAX_NESTING:
            return _Shape(too_deep=child)
        visiting.add(id(child))
        stack.append((child, iter(_children(child))))
    return _Shape(values=size[id(root)])


def _shape_problem(path: Path, node: yaml.Node, diags: Diagnostics) -> bool:
    """Report a file that has no sane data form; True if it was reported."""
    shape = _shape(node)
    if shape.loop is not None:
        diags.error(
            _loc(path, shape.loop.start_mark),
            "this value contains itself through a YAML alias; definitions must be plain data",
        )
    elif shape.too_deep is not None:
        diags.error(
            _loc(path, shape.too_deep.start_mark),
            f"values nest deeper than {MAX_NESTING} levels here: flatten the data",
        )
    elif shape.values > MAX_VALUES:
        diags.error(
            _loc(path, node.start_mark),
            f"this file expands to more than {MAX_VALUES} values through YAML aliases "
            "(anchors repeated inside each other, an 'alias bomb'): write the data out "
            "or use fewer nested aliases",
        )
    else:
        return False
    return True


def _too_deep(path: Path, diags: Diagnostics) -> None:
    # The parsers recurse per nesting level; far past MAX_NESTING they run out of stack.
    diags.error(
        Location(path),
        f"values nest far deeper than {MAX_NESTING} levels: flatten the data",
    )


def _explained(text: str) -> yaml.MarkedYAMLError | None:
    """The pure-Python parser's error for ``text`` (clearer than libyaml's), if it has one."""
    loader = _Loader(text)
    try:
        loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        return e
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return None


def _syntax_error(path: Path, e: yaml.MarkedYAMLError, what: str) -> tuple[Location, str]:
    mark = e.problem_mark or e.context_mark
    problem = e.problem or "invalid YAML"
    context = f" ({e.context})" if e.context and e.problem else ""
    if "expected a single document" in str(e):
        return _loc(path, mark), (
            f"{what} holds more than one YAML document ('---'): put one definition per file"
        )
    if "found character '\\t'" in problem:
        problem += " (YAML indents with spaces, not tabs)"
    return _loc(path, mark), f"YAML syntax error: {problem}{context}"


def parse_yaml(path: Path, text: str, diags: Diagnostics, what: str = "file") -> Document | None:
    """Parse one YAML document; None (with diagnostics) if it cannot be read as data."""
    loader = _FastLoader(text)

    def key_of(k: yaml.Node) -> Any:
        try:
            return loader.construct_object(k, deep=True)
        except yaml.YAMLError:
            return k.value

    try:
        node = loader.get_single_node()
        if node is None:
            return Document(path, None)
        if _shape_problem(path, node, diags):
            return None
        _duplicates(path, node, diags)
        data = loader.construct_document(node)
        doc = Document(path, data)
        _walk(doc, node, (), key_of, set())
        return doc
    except RecursionError:
        _too_deep(path, diags)
        return None
    except yaml.MarkedYAMLError as e:
        if "depth" in str(e.problem):  # libyaml's own nesting limit
            _too_deep(path, diags)
            return None
        loc, msg = _syntax_error(path, _explained(text) or e, what)
        diags.error(loc, msg)
        return None
    except yaml.YAMLError as e:  # pragma: no cover - PyYAML errors are marked in practice
        diags.error(Location(path), f"YAML error: {e}")
        return None
    finally:
        loader.dispose()


def parse_json(
    path: Path, text: str, diags: Diagnostics, what: str = "JSON file"
) -> Document | None:
    """Parse JSON with locations: json decides the data, the YAML composer gives the marks."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        diags.error(Location(path, e.lineno, e.colno), f"{what} is not valid JSON: {e.msg}")
        return None
    except RecursionError:
        _too_deep(path, diags)
        return None
    doc = Document(path, data)
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            if _shape_problem(path, node, diags):
                return None
            _duplicates(path, node, diags)
            _walk(doc, node, (), lambda k: k.value, set())
    except RecursionError:
        _too_deep(path, diags)
        return None
    except yaml.YAMLError:
        # Valid JSON that PyYAML cannot compose (rare escapes): no positions, still usable.
        pass
    finally:
        loader.dispose()
    return doc


def iter_strings(data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    """Every string value with its path (mapping keys excluded)."""
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield from iter_strings(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from iter_strings(v, (*path, i))
