"""The scenario runner is a client of the API: it imports nothing from the server.

What cassettes and the server's script queue share (the script steps and the script
endpoint's path) lives in ``orchestrator.scripting``, which both import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import orchestrator.scenarios
import orchestrator.scripting

SCENARIOS = Path(orchestrator.scenarios.__file__).parent


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_scenario_module_imports_the_server() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in sorted(SCENARIOS.rglob("*.py"))
        for name in _imported(path)
        if name == "orchestrator.server" or name.startswith("orchestrator.server.")
    }
    assert offenders == set()
    # The check itself sees imports: cassettes.py takes the contract from scripting.
    assert "orchestrator.scripting" in _imported(SCENARIOS / "cassettes.py")


def test_the_wire_contract_module_needs_neither_side() -> None:
    imported = _imported(Path(orchestrator.scripting.__file__))
    assert {n for n in imported if n.startswith("orchestrator")} == set()


def _uses_beta(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return any(isinstance(n, ast.Attribute) and n.attr == "beta" for n in ast.walk(tree))


def test_only_the_assistants_driver_speaks_the_assistants_api() -> None:
    """The runner, cassettes, expectations and reports reach the API through a driver
    (``drivers/``), so another API plugs in as another driver: only the Assistants
    driver and the assistant resolver it uses call ``client.beta`` (assistants,
    threads, runs)."""
    speaking = {
        path.relative_to(SCENARIOS).as_posix()
        for path in SCENARIOS.rglob("*.py")
        if _uses_beta(path)
    }
    assert speaking == {"drivers/assistants.py", "resolve.py"}
