"""The CLI is the only layer that talks to the terminal: `click` is imported, `print()`
called and the process exited only under orchestrator/cli/, and nothing else imports the
CLI (a static scan of the package)."""

from __future__ import annotations

import ast
from pathlib import Path

import orchestrator

PACKAGE = Path(orchestrator.__file__).parent
CLI = PACKAGE / "cli"
# Programs of their own, run as `python FILE` in a child process and never imported:
# ending their process is their job.
SCRIPTS = {PACKAGE / "server" / "tools" / "_sandbox_boot.py"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if CLI not in p.parents and p not in SCRIPTS)


def _imports_cli(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").startswith("orchestrator.cli")
    return isinstance(node, ast.Import) and any(
        a.name.startswith("orchestrator.cli") for a in node.names
    )


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "click" for a in node.names
        ):
            found.append(f"{where}: imports click")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "click":
            found.append(f"{where}: imports from click")
        elif _imports_cli(node) and path.name != "__main__.py":  # `python -m orchestrator`
            found.append(f"{where}: imports the CLI")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            if any(a.name == "exit" for a in node.names):
                found.append(f"{where}: imports sys.exit")
        elif isinstance(node, ast.Attribute) and node.attr in ("exit", "_exit"):
            if isinstance(node.value, ast.Name) and node.value.id in ("sys", "os"):
                found.append(f"{where}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("exit", "quit", "print"):
                found.append(f"{where}: {node.func.id}()")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "SystemExit":
                found.append(f"{where}: raises SystemExit")
    return found


def test_the_scan_sees_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sys\nimport click\nfrom click import echo\n"
        "from orchestrator.cli.session import connected\n"
        "def f():\n    print('x')\n    sys.exit(1)\n    raise SystemExit(2)\n",
        encoding="utf-8",
    )
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        found = _offences(bad)
    finally:
        PACKAGE = saved
    assert sorted(f.split(": ", 1)[1] for f in found) == [
        "imports click",
        "imports from click",
        "imports the CLI",
        "print()",
        "raises SystemExit",
        "sys.exit",
    ]


def test_only_the_cli_imports_click_prints_or_exits() -> None:
    modules = _modules()
    assert len(modules) > 50  # the scan really walks the package
    offences = [o for path in modules for o in _offences(path)]
    assert offences == []
