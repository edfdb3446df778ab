"""Drivers: how scenarios are played on each wire API a target may speak.

- :mod:`.base` — the :class:`Driver` / :class:`Conversation` interface and the types the
  runner passes through it
- :mod:`.assistants` — the Assistants v2 API (threads, runs, ``submit_tool_outputs``)
- :mod:`.responses` — OpenAI today (``api: openai``): Responses and Conversations, with
  each assistant's Responses profile from the lock file
"""

from __future__ import annotations

from pathlib import Path

import openai

from orchestrator.scenarios.drivers.assistants import AssistantsDriver
from orchestrator.scenarios.drivers.base import Driver
from orchestrator.scenarios.drivers.responses import ResponsesDriver


def driver_for(
    api: str,
    client: openai.AsyncOpenAI,
    *,
    root: Path | None,
    namespace: str,
    target: str = "",
    stream: bool = True,
) -> Driver:
    """The driver for a target's ``api``."""
    if api == "assistants":
        return AssistantsDriver(
            client, root=root, namespace=namespace, target=target, stream=stream
        )
    if api == "openai":
        return ResponsesDriver(client, root=root, namespace=namespace, target=target, stream=stream)
    raise ValueError(f"no scenario driver for the {api!r} API")
