"""``orchestrator serve`` as a child process, for tests and benchmarks.

Client code under test should talk to a server over real HTTP, in its own process, as
it will in production. :class:`ServerProcess` starts one on a free loopback port,
waits until ``GET /health`` answers, and hands out ``openai`` clients for it::

    from orchestrator.testing import ServerProcess

    with ServerProcess(api_key="sk-test") as server:
        client = server.client()
        assistant = client.beta.assistants.create(model="gpt-4o")

    # a pytest fixture
    @pytest.fixture(scope="session")
    def server(tmp_path_factory):
        d = tmp_path_factory.mktemp("server")
        with ServerProcess(db_path=d / "db.sqlite3", log_path=d / "server.log") as s:
            yield s

State is in memory unless ``db_path`` is given; with a file, :meth:`restart` brings
the server back on the same state (on a new port: take ``base_url`` or a new client
after it). Extra ``orchestrator serve`` options go in ``extra_args``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai

__all__ = ["ServerProcess", "free_port"]

HOST = "127.0.0.1"
# The server's own key variable would override (or, with api_key=None, add) a key the
# caller did not ask for; the caller's ``api_key`` is the only authority.
_IGNORED_ENV = ("ORCHESTRATOR_API_KEY",)


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# Shorter than the server's keep-alive timeout (uvicorn's default: 5 s).
CLIENT_KEEPALIVE_SECONDS = 2.0


@dataclass
class ServerProcess:
    """One ``orchestrator serve`` process on loopback.

    ``env`` is added to this process's environment (a value there wins);
    ``log_path`` collects the server's stdout and stderr (appended across restarts),
    else they are discarded; ``cwd`` is the server's working directory.
    """

    db_path: Path | None = None
    # Not in the repr: keys must not end up in test output or logs.
    api_key: str | None = field(default=None, repr=False)
    extra_args: Sequence[str] = field(default=(), repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    log_path: Path | None = None
    cwd: Path | None = None
    startup_timeout: float = 60.0
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``: where ``/health`` is."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL (``.../v1``), as ``OPENAI_BASE_URL`` takes it."""
        return f"{self.root_url}/v1"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        """The command line :meth:`start` runs (with the port it chose)."""
        args = [
            sys.executable,
            "-m",
            "orchestrator",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--db",
            str(self.db_path) if self.db_path else ":memory:",
            *self.extra_args,
        ]
        # The key goes in the environment (start()), not here: argv is visible in `ps`.
        return args

    def start(self) -> ServerProcess:
        """Start the process and wait until it answers ``GET /health``.

        Raises :class:`RuntimeError` (with the end of the log, if there is one) when
        the process exits or is not healthy within ``startup_timeout`` seconds.
        """
        if self.running:
            raise RuntimeError(f"the server is already running on {self.root_url}")
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in _IGNORED_ENV}
        env.update(self.env)
        if self.api_key:
            env["ORCHESTRATOR_API_KEY"] = self.api_key
        if self.log_path:
            with open(self.log_path, "ab") as log:  # the child keeps its own handle
                self.proc = subprocess.Popen(
                    self.command(), cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT
                )
        else:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.cwd,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"orchestrator serve exited with {self.proc.returncode} while starting"
                        + self._log_tail()
                    )
                try:
                    if http.get(f"{self.root_url}/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(
            f"orchestrator serve did not answer {self.root_url}/health within "
            f"{self.startup_timeout:g} s" + self._log_tail()
        )

    def _log_tail(self, lines: int = 20) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        tail = self.log_text().splitlines()[-lines:]
        return f"; the end of {self.log_path}:\n" + "\n".join(tail)

    def stop(self, kill: bool = False, timeout: float = 15) -> None:
        """Terminate the process (SIGTERM; SIGKILL with ``kill=True``, or if it does
        not exit within ``timeout`` seconds) and wait for it."""
        if not self.running:
            return
        assert self.proc is not None
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """Stop abruptly, as a crash would (nothing is shut down cleanly)."""
        self.stop(kill=True)

    def restart(self) -> ServerProcess:
        """Stop and start again (on a new port; the state stays if ``db_path`` is set)."""
        self.stop()
        return self.start()

    def log_text(self) -> str:
        """What the server has written to ``log_path`` so far."""
        if self.log_path is None:
            raise RuntimeError("this server has no log_path; its output is discarded")
        return self.log_path.read_text(errors="replace")

    def client(
        self,
        response_hook: Callable[[httpx.Response], Any] | None = None,
        *,
        timeout: float = 60,
        **kwargs: Any,
    ) -> openai.OpenAI:
        """The real ``openai`` SDK for this server, without retries (a test should see
        every failure). ``response_hook`` sees every response (e.g. a spec checker)."""
        hooks = {"response": [response_hook]} if response_hook else {}
        # uvicorn closes a connection idle for 5 s; a client that kept it as long could
        # send on it just as it closes (RemoteProtocolError with retries off), so idle
        # connections are dropped well before the server would drop them.
        limits = httpx.Limits(keepalive_expiry=CLIENT_KEEPALIVE_SECONDS)
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "not-needed",
            http_client=httpx.Client(event_hooks=hooks, timeout=timeout, limits=limits),
            max_retries=0,
            **kwargs,
        )

    def __enter__(self) -> ServerProcess:
        return self if self.running else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
