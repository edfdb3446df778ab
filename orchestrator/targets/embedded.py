"""The server app on uvicorn in a background thread of this process."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from orchestrator.redaction import log_redaction
from orchestrator.server import create_app
from orchestrator.server.config import ServerConfig
from orchestrator.server.http_guard import uvicorn_config


class EmbeddedServer:
    """The app on uvicorn in a background thread, on the configured (or an OS-chosen) port."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        log_redaction.add(*config.secrets())
        self.app = create_app(config)
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections
        # only when the proto says TCP; without it Nagle + delayed ACK add ~40 ms to
        # every response after the first on a keep-alive connection.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((config.host, config.port))
        except OSError:
            self._sock.close()
            raise
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn_config(
                self.app,
                config.http,
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

    def wait(self, poll_seconds: float = 0.5) -> None:
        """Block until the server stops (Ctrl-C still reaches the caller between polls)."""
        while self._thread.is_alive():
            self._thread.join(poll_seconds)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
