"""No import cycles in orchestrator/: layers only import downwards.

The graph is built from the source with ``ast``, so it counts every import a module can
execute — top-level and inside functions (a lazy import hides a cycle from Python's
import machinery, not from the design). Imports under ``if TYPE_CHECKING:`` never run
and are left out. An edge goes to the module an import names (``from a.b import c``
→ ``a.b.c`` when that is a module, else ``a.b``); like import-linter, parent packages
are not counted, because a package's ``__init__`` is its own node with its own edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "orchestrator"

# Cycles that other helpers are removing in their own areas, as sorted module lists.
# The lead empties this list at the end; it may only shrink (a listed cycle that is
# gone fails the test so that its entry is deleted too).
KNOWN_CYCLES: list[list[str]] = []


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _runtime_imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _runtime_imports(node)


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    if not is_package:
                        anchor = anchor[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        # Iterative DFS: recursion depth would otherwise follow the longest import chain.
        work = [(node, iter(sorted(graph[node])))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _path_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete cycle inside ``component``, to name in the failure message."""
    members = set(component)
    start = component[0]
    trail = [start]
    seen = {start}
    while True:
        nxt = sorted(graph[trail[-1]] & members)
        if start in nxt and len(trail) > 1:
            return [*trail, start]
        step = next((m for m in nxt if m not in seen), None)
        if step is None:  # fall back to naming the whole component
            return [*component, component[0]]
        trail.append(step)
        seen.add(step)


def test_graph_sees_in_function_imports() -> None:
    # providers/__init__ imports its providers only inside make_model(): they must count.
    graph = _import_graph()
    assert "orchestrator.server.providers.local" in graph["orchestrator.server.providers"]
    assert "orchestrator.server.providers.chat" in graph["orchestrator.server.providers"]


def test_cycle_finder_names_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _path_through(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    graph = _import_graph()
    cycles = _cycles(graph)
    new = [c for c in cycles if c not in KNOWN_CYCLES]
    assert not new, "import cycles in orchestrator/:\n" + "\n".join(
        " -> ".join(_path_through(graph, c)) + f"   (component: {', '.join(c)})" for c in new
    )
    gone = [c for c in KNOWN_CYCLES if c not in cycles]
    assert not gone, f"these known cycles are gone; delete them from KNOWN_CYCLES: {gone}"


def test_routes_call_services_never_the_reverse() -> None:
    # Only the app mounts routers; a router imports no other router (shared work is a
    # service, shared FastAPI dependencies are routes.deps).
    routes = "orchestrator.server.routes"
    importers = {
        name: sorted(t for t in targets if t.startswith(routes + ".") and t != f"{routes}.deps")
        for name, targets in _import_graph().items()
        if name != "orchestrator.server.app"
    }
    assert {name: found for name, found in importers.items() if found} == {}
