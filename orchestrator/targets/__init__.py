"""Which server a command talks to, and the ``openai`` client for it.

Two kinds of target:

- **embedded** (the default when no URL is configured): the built-in server, started
  in-process on a free loopback port with its state in ``<project>/.orchestrator/``.
  Commands still talk to it over HTTP with the real ``openai`` client, so every code
  path is the one used against a remote server.
- **url**: any Assistants-v2-compatible base URL (``--base-url`` / ``OPENAI_BASE_URL``),
  key from ``--api-key`` / ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import openai
import uvicorn

from orchestrator.server.config import ServerConfig

STATE_DIR = ".orchestrator"


@dataclass
class Target:
    kind: Literal["embedded", "url"]
    base_url: str | None = None
    api_key: str | None = None
    # Embedded: where the server keeps its state.
    state_dir: Path | None = None
    server: ServerConfig | None = field(default=None, repr=False)

    def describe(self) -> str:
        # Never includes the key.
        if self.kind == "embedded":
            return f"embedded server (state in {self.state_dir})"
        return redact_url(self.base_url or "?")


def redact_url(url: str) -> str:
    """The URL without user:password@ or a query string (either may hold a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def resolve_target(
    project_root: Path,
    base_url: str | None = None,
    api_key: str | None = None,
    server: ServerConfig | None = None,
) -> Target:
    """``--base-url`` / ``OPENAI_BASE_URL`` selects a URL target, else the embedded one."""
    url = base_url or os.environ.get("OPENAI_BASE_URL")
    if url:
        return Target(
            kind="url",
            base_url=url.rstrip("/"),
            api_key=api_key or os.environ.get("OPENAI_API_KEY"),
        )
    state = project_root / STATE_DIR
    return Target(kind="embedded", state_dir=state, server=server)


class EmbeddedServer:
    """The app on uvicorn in a background thread, on a loopback port chosen by the OS."""

    def __init__(self, config: ServerConfig) -> None:
        from orchestrator.server import create_app

        self.config = config
        self.app = create_app(config)
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections
        # only when the proto says TCP; without it Nagle + delayed ACK add ~40 ms to
        # every response after the first on a keep-alive connection.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((config.host, config.port))
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,
                lifespan="on",
                # Open SSE streams must not hold shutdown until a stalled upstream times out.
                timeout_graceful_shutdown=5,
            )
        )
        self._thread = threading.Thread(target=self._run, name="orchestrator-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}/v1"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> EmbeddedServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the embedded server failed to start")
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_client(base_url: str, api_key: str | None, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", **kwargs)  # type: ignore[arg-type]


@contextmanager
def connect(target: Target, **client_kwargs: object) -> Iterator[openai.OpenAI]:
    """An ``openai.OpenAI`` client for the target; starts and stops the embedded server."""
    if target.kind == "url":
        assert target.base_url
        yield make_client(target.base_url, target.api_key, **client_kwargs)
        return
    assert target.state_dir is not None
    config = target.server or ServerConfig()
    config.db_path = target.state_dir / "server.sqlite3"
    config.host, config.port = "127.0.0.1", 0
    # A one-off key: nothing else on this machine can use the in-process server.
    config.api_key = config.api_key or secrets.token_urlsafe(24)
    with EmbeddedServer(config) as server:
        yield make_client(server.base_url, config.api_key, **client_kwargs)
