"""Scenario runner: scripted conversations against assistants.

- :mod:`.handlers` — ``@handler(name)`` registry and argument validation
- :mod:`.expectations` / :mod:`.matchers` — typed per-turn expectations
- :mod:`.drivers` — one conversation per scenario on the target's API (Assistants: a
  thread, a turn as a run, streamed or polled, tool calls answered)
- :mod:`.runner` — scenarios in parallel, timeouts, repeats, cassettes
- :mod:`.cassettes` — record / replay through the embedded server's script queue
- :mod:`.reports` / :mod:`.transcript` / :mod:`.progress` — what the user sees
- :mod:`.pytest_plugin` — scenario files as pytest items (opt-in)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "HandlerContext",
    "RunReport",
    "RunnerOptions",
    "ScenarioResult",
    "ScenarioRunner",
    "handler",
    "run_scenarios",
]

if TYPE_CHECKING:
    from orchestrator.scenarios.handlers import HandlerContext, handler
    from orchestrator.scenarios.results import RunReport, ScenarioResult
    from orchestrator.scenarios.runner import RunnerOptions, ScenarioRunner, run_scenarios

_LAZY = {
    "HandlerContext": "orchestrator.scenarios.handlers",
    "handler": "orchestrator.scenarios.handlers",
    "RunReport": "orchestrator.scenarios.results",
    "ScenarioResult": "orchestrator.scenarios.results",
    "RunnerOptions": "orchestrator.scenarios.runner",
    "ScenarioRunner": "orchestrator.scenarios.runner",
    "run_scenarios": "orchestrator.scenarios.runner",
}


def __getattr__(name: str) -> Any:
    # Lazy: `from orchestrator import handler` must not pull in the runner and the SDK.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'orchestrator.scenarios' has no attribute {name!r}")
