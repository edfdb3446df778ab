"""The server app on uvicorn: in a background thread of this process, or in a child process."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import socket
import threading
from multiprocessing.connection import Connection
from typing import Any

import uvicorn

from orchestrator.redaction import log_redaction
from orchestrator.server import create_app
from orchestrator.server.config import ServerConfig
from orchestrator.server.http_guard import uvicorn_config
from orchestrator.server.request_log import RequestLog


class EmbeddedServer:
    """The app on uvicorn in a background thread, on the configured (or an OS-chosen) port."""

    def __init__(self, config: ServerConfig, *, log_requests: bool = False) -> None:
        self.config = config
        log_redaction.add(*config.secrets())
        self.app = create_app(config)
        # `serve -v`: a line per request (the app stays the app: state, routes).
        served: Any = RequestLog(self.app) if log_requests else self.app
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
                served,
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


class EmbeddedServerProcess:
    """The same server in a child process of this one.

    For work that keeps this interpreter busy itself (scenarios at ``-j`` > 1: the runner's
    threads parse streams and call handlers), so the client and the server each get a core
    instead of sharing one interpreter. The config, key included, goes to the child over a
    pipe (never its command line); the child stops when told or when this process goes
    away (its end of the pipe closes).
    """

    def __init__(self, config: ServerConfig, start_timeout: float = 60.0) -> None:
        self.config = config
        log_redaction.add(*config.secrets())
        self.start_timeout = start_timeout
        self.port = 0
        self._context = multiprocessing.get_context("spawn")
        self._conn, child_conn = self._context.Pipe()
        self._process = self._context.Process(
            target=_serve_in_child,
            args=(config, child_conn),
            name="orchestrator-server",
            daemon=True,
        )
        self._child_conn = child_conn

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}/v1"

    def start(self) -> EmbeddedServerProcess:
        self._process.start()
        self._child_conn.close()
        if not self._conn.poll(self.start_timeout):
            self.stop()
            raise OSError(f"the embedded server did not start in {self.start_timeout:.0f} s")
        try:
            status, detail = self._conn.recv()
        except EOFError:
            status, detail = "error", f"its process ended (exit code {self._process.exitcode})"
        if status != "started":
            self.stop()
            # What EmbeddedServer raises in this process (cannot bind, cannot open state).
            raise OSError(detail)
        self.port = int(detail)
        return self

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(15)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._conn.close()

    def __enter__(self) -> EmbeddedServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve_in_child(config: ServerConfig, conn: Connection) -> None:
    # Ctrl-C reaches the whole foreground process group: the parent decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        server = EmbeddedServer(config).start()
    except Exception as exc:  # reported to the parent, which raises it as OSError
        conn.send(("error", str(exc) or type(exc).__name__))
        return
    conn.send(("started", server.port))
    with contextlib.suppress(EOFError, OSError):
        conn.recv()  # "stop", or EOF when the parent is gone
    server.stop()
