"""assistant-orchestrator: assistants as code.

Public surface:

- :func:`handler` — register a Python function that answers an assistant's function
  calls in scenarios (``from orchestrator import handler``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "handler"]

if TYPE_CHECKING:
    from orchestrator.scenarios.handlers import handler


def __getattr__(name: str) -> Any:
    # Lazy so `import orchestrator` stays cheap for the CLI and the server.
    if name == "handler":
        from orchestrator.scenarios.handlers import handler

        return handler
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
