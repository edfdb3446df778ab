"""Drivers: how scenarios are played on each wire API a target may speak.

- :mod:`.base` — the :class:`Driver` / :class:`Conversation` interface and the types the
  runner passes through it
- :mod:`.assistants` — the Assistants v2 API (threads, runs, ``submit_tool_outputs``)
"""

from __future__ import annotations

from pathlib import Path

import openai

from orchestrator.scenarios.drivers.assistants import AssistantsDriver
from orchestrator.scenarios.drivers.base import Driver


class UnsupportedApi(ValueError):
    """No driver plays scenarios on this API yet; the message says what to do instead."""


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
    raise UnsupportedApi(
        f"scenarios cannot be played on the {api!r} API yet (scenarios over Responses are "
        "not implemented): run them on the Assistants API, e.g. against the embedded server "
        "with `--api assistants --base-url embedded`"
    )
