"""The seed notebooks' code cells, read from their text exports, and run as a notebook would.

The seeds (``shared/seeds/*.txt``, beside the repository) are text exports of Jupyter
notebooks: each code cell is an ``In [n]:`` line followed by the code, then (after a
blank line) its output and the next markdown; one seed keeps its code in fenced
``python`` blocks instead. A cell's code is the longest run of blank-line separated
paragraphs after the marker that parses as Python, stopping at the first paragraph
that is an output (a bare value such as ``True``, ``{'id': ...}`` or ``FileCounts(...)``,
or text that is not Python at all). :func:`run_notebook` runs the cells in order in
one fresh interpreter (tests/support/notebook_kernel.py) with the notebook's own
``display``, its shell escapes, ``input()`` read from stdin and an expression ending
a cell displayed; the only setting from outside is the environment
(``OPENAI_BASE_URL``/``OPENAI_API_KEY``, which ``OpenAI()`` reads).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
KERNEL = Path(__file__).with_name("notebook_kernel.py")

_MARKER = re.compile(r"^In \[(?:\d+| |None)\]:\s*$")
_FENCE = re.compile(r"^```python\s*$")


@dataclass(frozen=True)
class Cell:
    number: int  # 1-based, in the order of the notebook
    marker: str  # "In [23]:" or "```python"
    line: int  # of the marker in the export, 1-based
    code: str

    @property
    def label(self) -> str:
        first = next((x for x in self.code.splitlines() if x.strip()), "")
        return f"cell {self.number} ({self.marker.rstrip(':')} at line {self.line}: {first[:50]})"

    @property
    def parses(self) -> bool:
        return _parses(self.code)


@dataclass
class CellResult:
    number: int
    status: str  # "ok", "error" or "not run"
    output: str  # what it printed and displayed
    error: str | None  # "KeyError: 'choices'"


def python_source(code: str) -> str:
    """A cell's code with its ``!command`` lines as calls of the kernel's ``__shell__``
    (IPython's transformation of shell escapes)."""
    lines = []
    for line in code.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("!"):
            indent = line[: len(line) - len(stripped)]
            lines.append(f"{indent}__shell__({stripped[1:]!r})")
        else:
            lines.append(line)
    return "\n".join(lines)


def _parses(code: str) -> bool:
    try:
        ast.parse(python_source(code))
    except SyntaxError:
        return False
    return True


def _is_output(paragraph: str) -> bool:
    """A paragraph that parses but is a displayed value, not code: bare literals, names
    (``null``, ``completed``) and ``CapWords(...)`` reprs, nothing else."""
    try:
        body = ast.parse(python_source(paragraph)).body
    except SyntaxError:
        return False  # an indented paragraph: the rest of a def or a loop
    if not body:
        return False  # comments only
    for stmt in body:
        if not isinstance(stmt, ast.Expr):
            return False
        value = stmt.value
        if isinstance(value, ast.Call):
            if not (isinstance(value.func, ast.Name) and value.func.id[:1].isupper()):
                return False
        elif not isinstance(value, (ast.Constant, ast.Dict, ast.List, ast.Tuple, ast.Name)):
            return False
    return True


def _paragraphs(lines: list[str]) -> list[str]:
    out, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            out.append("\n".join(current))
            current = []
    if current:
        out.append("\n".join(current))
    return out


def _cell_code(block: list[str]) -> str:
    """The code at the start of the lines after a marker (see the module docstring)."""
    paragraphs = _paragraphs(block)
    if not paragraphs:
        return ""
    code = paragraphs[0]
    for paragraph in paragraphs[1:]:
        candidate = f"{code}\n\n{paragraph}"
        if not _parses(code):
            code = candidate  # still inside a statement: blank lines in a call or a def
        elif _parses(candidate) and not _is_output(paragraph):
            code = candidate
        else:
            break
    return code


def read_cells(path: Path) -> list[Cell]:
    """The code cells of a seed's text export, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    cells: list[Cell] = []
    markers = [i for i, line in enumerate(lines) if _MARKER.match(line)]
    if markers:
        for k, start in enumerate(markers):
            end = markers[k + 1] if k + 1 < len(markers) else len(lines)
            code = _cell_code(lines[start + 1 : end])
            cells.append(Cell(len(cells) + 1, lines[start].strip(), start + 1, code))
        return cells
    i = 0
    while i < len(lines):
        if _FENCE.match(lines[i]):
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            cells.append(Cell(len(cells) + 1, "```python", i + 1, "\n".join(lines[i + 1 : j])))
            i = j
        i += 1
    return cells


def run_notebook(
    cells: list[Cell],
    *,
    base_url: str,
    api_key: str,
    workdir: Path,
    skip: set[int],
    stdin: str = "",
    timeout: float = 90,
) -> list[CellResult]:
    """Run ``cells`` in order in one fresh Python process in ``workdir`` (cells in
    ``skip`` are not run); each cell's outcome, in order."""
    program = workdir / "cells.json"
    program.write_text(
        json.dumps(
            [
                {"number": c.number, "code": python_source(c.code), "skip": c.number in skip}
                for c in cells
            ]
        ),
        encoding="utf-8",
    )
    report = workdir / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ORCHESTRATOR_"))}
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY=api_key, PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, str(KERNEL), str(program), str(report)],
        cwd=workdir,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"the notebook kernel died:\n{done.stdout}\n{done.stderr}"
    return [CellResult(**r) for r in json.loads(report.read_text(encoding="utf-8"))]
