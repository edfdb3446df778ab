"""An ``openai`` client for a :class:`Target` (starting the embedded server if it is one)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import openai

from orchestrator.server.config import ServerConfig
from orchestrator.targets.target import STATE_DB, Target


def make_client(base_url: str, api_key: str | None, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", **kwargs)  # type: ignore[arg-type]


def embedded_config(target: Target) -> ServerConfig:
    """The embedded target's server: its state folder, loopback, any free port, a fresh key."""
    assert target.state_dir is not None
    return dataclasses.replace(
        target.server or ServerConfig(),
        db_path=target.state_dir / STATE_DB,
        host="127.0.0.1",
        port=0,
        # A one-off key: nothing else on this machine can use the in-process server.
        api_key=secrets.token_urlsafe(24),
    )


@contextmanager
def connect(
    target: Target, *, own_process: bool = False, **client_kwargs: object
) -> Iterator[openai.OpenAI]:
    """An ``openai.OpenAI`` client for the target; starts and stops the embedded server
    (in a child process with ``own_process``: when the caller keeps this interpreter busy).

    Raises ``OSError`` when the embedded server cannot bind or open its state.
    """
    if target.kind == "url":
        assert target.base_url
        yield make_client(target.base_url, target.api_key, **client_kwargs)
        return
    # Imported here: a URL target never loads the server (FastAPI, uvicorn, every route).
    from orchestrator.targets.embedded import EmbeddedServer, EmbeddedServerProcess

    config = embedded_config(target)
    server_type = EmbeddedServerProcess if own_process else EmbeddedServer
    with server_type(config) as server:
        yield make_client(server.base_url, config.api_key, **client_kwargs)
