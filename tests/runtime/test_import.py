"""The runtime library is for applications: importable with the server's packages absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.support import ROOT

BLOCKED = ("fastapi", "uvicorn", "starlette", "click")


def test_the_runtime_imports_without_fastapi_uvicorn_or_click() -> None:
    code = textwrap.dedent(
        f"""
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ImportError(f"blocked for this test: {{name}}")
                return None

        sys.meta_path.insert(0, Block())
        from orchestrator import handler
        from orchestrator.runtime import load_profile, respond
        import orchestrator.runtime.respond, orchestrator.runtime.profiles
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {BLOCKED!r})
        print("loaded:", loaded)
        print("ok", callable(respond), callable(load_profile), callable(handler))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["loaded: []", "ok True True True"]
