"""Which server a command talks to, and the ``openai`` client for it.

Two kinds of target, both described by a typed :class:`Target` that
:func:`orchestrator.settings.resolve_settings` builds (flags > orchestrator.yaml > env >
defaults):

- **embedded** (the default when no URL is configured): the built-in server, started
  in-process on a free loopback port with its state in ``<project>/.orchestrator/``.
  Commands still talk to it over HTTP with the real ``openai`` client, so every code
  path is the one used against a remote server.
- **url**: any Assistants-v2-compatible base URL, with its key.

A target speaks one API (``Target.api``): ``assistants`` (Assistants v2) or ``openai``
(OpenAI as it is today: files, vector stores, Managed Agents and Responses; OpenAI's base
URL by default).

Modules: :mod:`.target` (the type), :mod:`.embedded` (the in-process server),
:mod:`.connect` (the client). The server loads only when the embedded target is used.
"""

from __future__ import annotations

from orchestrator.targets.connect import connect, embedded_config, make_client
from orchestrator.targets.target import (
    OPENAI_BASE_URL,
    STATE_DB,
    STATE_DIR,
    TARGET_APIS,
    Target,
    TargetApi,
    is_openai_host,
)

__all__ = [
    "OPENAI_BASE_URL",
    "STATE_DB",
    "STATE_DIR",
    "TARGET_APIS",
    "Target",
    "TargetApi",
    "connect",
    "embedded_config",
    "is_openai_host",
    "make_client",
]
