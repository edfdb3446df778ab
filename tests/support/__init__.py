"""Helpers the tests share. Test modules import from here, never from each other."""

from __future__ import annotations

from pathlib import Path

API_KEY = "sk-test-orchestrator"
# The repository root: the example project lives here.
ROOT = Path(__file__).resolve().parents[2]
