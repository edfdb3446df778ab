"""Run notebook cells in order, as Jupyter's Python kernel would; a script, not a module.

Usage: ``python notebook_kernel.py CELLS.json REPORT.json`` (see tests/support/notebooks.py).
What the notebook's code gets from the kernel and nothing else: one namespace for all
cells, ``display()`` (pretty-printed, as IPython shows a dict), the value of an
expression that ends a cell displayed, ``__shell__`` for the ``!command`` lines
(notebooks.python_source turns them into calls of it), and
``input()`` from stdin. A cell that raises is recorded and the next one runs.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import pprint
import subprocess
import sys
import traceback
from typing import Any


def _shell(command: str) -> None:
    # The notebook's own interpreter's tools first (its pip), as in a kernel's venv.
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env=env)
    print(done.stdout, end="")


def _display(*objs: Any) -> None:
    for obj in objs:
        pprint.pprint(obj, width=100, sort_dicts=False)


def run_cell(code: str, namespace: dict[str, Any]) -> None:
    tree = ast.parse(code)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr):
        body = ast.Module(body=tree.body[:-1], type_ignores=[])
        exec(compile(body, "<cell>", "exec"), namespace)
        value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
        if value is not None:
            _display(value)
    else:
        exec(compile(tree, "<cell>", "exec"), namespace)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        cells = json.load(f)
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "display": _display,
        "__shell__": _shell,
    }
    report = []
    for cell in cells:
        if cell["skip"]:
            report.append(
                {"number": cell["number"], "status": "not run", "output": "", "error": None}
            )
            continue
        out = io.StringIO()
        error = None
        with contextlib.redirect_stdout(out):
            try:
                run_cell(cell["code"], namespace)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                traceback.print_exc(file=sys.stderr)
        report.append(
            {
                "number": cell["number"],
                "status": "error" if error else "ok",
                "output": out.getvalue(),
                "error": error,
            }
        )
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(report, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
