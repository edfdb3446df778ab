"""pytest plugin: collect scenario YAML files as tests (opt-in with --scenarios)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orchestrator")
    group.addoption(
        "--scenarios",
        action="store_true",
        default=False,
        help="collect orchestrator scenario files (kind: Scenario) as tests",
    )
    parser.addini(
        "orchestrator_scenarios", "collect scenario YAML files as tests", type="bool", default=False
    )
