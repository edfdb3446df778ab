"""A test double in front of the real server: counts requests and injects faults.

The server itself is never mocked: every request that is not failed on purpose goes to
the real ``orchestrator serve`` process and its response comes back unchanged. Faults
(chosen by a seeded RNG, so runs are reproducible):

- ``500_before`` / ``429``: answered by the proxy; the server never sees the request;
- ``500_after`` / ``drop_after``: the request *is* forwarded (and processed), then the
  client gets a 500 or a closed connection instead of the response — the case where a
  naive retry of a create makes a duplicate;
- ``drop_before``: the connection is closed before forwarding;
- ``slow_after``: forwarded, then answered late (past a client's timeout).

``retired`` path prefixes (after the base path, e.g. ``/assistants``) are answered with
the 404 OpenAI gives for an endpoint it no longer serves, and never forwarded: in front of
the embedded server this is *today's OpenAI*, where the Assistants API is gone
(:func:`openai_today`); ``retired_calls()`` lists what reached them.

``rewrite(method, path, body) -> body`` changes the server's answers (a hostile server
that sends what ours refuses to store).

``hang_after_writes=N`` blocks every write after the N-th, and ``hang_when(method, path,
body)`` every request it returns true for (the test then kills the client process,
simulating an apply killed half-way, or at a chosen point).

``hold_when(method, path, body)`` holds every request it returns true for until
:meth:`forward_held`, then forwards it as usual: a request sent just before its client
was paused, reaching the server only after the client resumed (``held`` is set once one
is waiting).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Request bodies of the reconciler's lock objects and journal pages.
_BOOKKEEPING = (b"orchestrator-lock", b"orchestrator-journal")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"}


@dataclass
class Recorded:
    method: str
    path: str
    status: int | None
    at: float
    fault: str | None = None
    body: bytes = b""  # the request body (first 4 kB)
    response_id: str | None = None  # "id" of a JSON response, when there was one

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass
class Faults:
    rate: float = 0.0
    kinds: tuple[str, ...] = ("500_before", "500_after", "429", "drop_after", "drop_before")
    seed: int = 1
    # Only these methods get faults (writes by default; reads can be included).
    methods: tuple[str, ...] = (*WRITE_METHODS, "GET")
    retry_after: str = "1"
    max_faults: int | None = None
    # Seconds every write waits before it is forwarded (to make applies overlap).
    write_delay: float = 0.0
    # "slow_after": the request is processed, then the answer comes this late.
    slow_seconds: float = 2.0
    # Picks the fault of a request itself, from (method, full path, body): a kind, or None.
    when: Callable[[str, str, bytes], str | None] | None = None


@dataclass
class _State:
    faults: Faults = field(default_factory=Faults)
    rng: random.Random = field(default_factory=random.Random)
    log: list[Recorded] = field(default_factory=list)
    hang_after_writes: int | None = None
    hang_when: Callable[[str, str, bytes], bool] | None = None
    hold_when: Callable[[str, str, bytes], bool] | None = None
    rewrite: Callable[[str, str, bytes], bytes] | None = None
    writes_seen: int = 0
    faults_done: int = 0
    # Per-request scripted faults: (method, path prefix) -> list of kinds to use in order.
    scripted: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


# What OpenAI has answered since 2026-08-26 for the Assistants API's endpoints.
RETIRED_BY_OPENAI = ("/assistants", "/threads")


class FaultProxy:
    def __init__(self, upstream_base_url: str, *, retired: tuple[str, ...] = ()) -> None:
        parts = urlsplit(upstream_base_url)
        self.retired = retired
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.prefix = parts.path.rstrip("/")  # e.g. /v1
        self.state = _State()
        self.hung = threading.Event()
        self._release = threading.Event()
        self.held = threading.Event()
        self._forward_held = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                n = int(self.headers.get("content-length") or 0)
                return self.rfile.read(n) if n else b""

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # Clients hanging up on dropped or slow answers is expected here, not news.
        self._httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- control ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._forward_held.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def configure(
        self,
        faults: Faults | None = None,
        hang_after_writes: int | None = None,
        hang_when: Callable[[str, str, bytes], bool] | None = None,
        rewrite: Callable[[str, str, bytes], bytes] | None = None,
        hold_when: Callable[[str, str, bytes], bool] | None = None,
    ) -> None:
        with self.state.lock:
            self.state.faults = faults or Faults()
            self.state.rng = random.Random(self.state.faults.seed)
            self.state.hang_after_writes = hang_after_writes
            self.state.hang_when = hang_when
            self.state.hold_when = hold_when
            self.state.rewrite = rewrite
            self.state.writes_seen = 0
            self.state.faults_done = 0
        self.hung.clear()
        self._release.clear()
        self.held.clear()
        self._forward_held.clear()

    def script(self, method: str, path_prefix: str, *kinds: str) -> None:
        """Fail the next matching requests with these faults, in order."""
        with self.state.lock:
            for kind in kinds:
                self.state.scripted.append((method, path_prefix, kind))

    def release(self) -> None:
        """Let hung requests go on (they are answered with a dropped connection)."""
        self._release.set()

    def forward_held(self) -> None:
        """Let held requests go on to the server (see ``hold_when``)."""
        self._forward_held.set()

    def reset(self) -> None:
        with self.state.lock:
            self.state.log.clear()

    # -- what happened ------------------------------------------------------------------------

    @property
    def log(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.log)

    def writes(self) -> list[Recorded]:
        return [r for r in self.log if r.is_write]

    def by_method(self) -> Counter[str]:
        return Counter(r.method for r in self.log)

    def faults(self) -> list[Recorded]:
        return [r for r in self.log if r.fault]

    def retired_calls(self) -> list[tuple[str, str]]:
        """Requests that reached a retired endpoint, as (method, path)."""
        return [(r.method, r.path) for r in self.log if r.fault == "retired"]

    def object_writes(self, since: int = 0) -> list[tuple[str, str]]:
        """Writes as (method, path), leaving out the reconciler's bookkeeping: the namespace
        lock's create/renew/delete and the apply's journal pages (see bookkeeping_writes);
        ``since``: only those after the first ``since`` requests of the log."""
        return self._writes(bookkeeping=False, since=since)

    def bookkeeping_writes(self) -> list[tuple[str, str]]:
        """Writes of lock objects and journal pages, as (method, path)."""
        return self._writes(bookkeeping=True)

    def _writes(self, *, bookkeeping: bool, since: int = 0) -> list[tuple[str, str]]:
        log = self.log
        marked = lambda r: any(m in r.body for m in _BOOKKEEPING)  # noqa: E731
        ids = {r.response_id for r in log if r.method == "POST" and marked(r) and r.response_id}
        out = []
        for r in log[since:]:
            if not r.is_write:
                continue
            path = r.path.split("?", 1)[0]
            is_bookkeeping = marked(r) or path.rsplit("/", 1)[-1] in ids
            if is_bookkeeping == bookkeeping:
                out.append((r.method, path))
        return out

    # -- the proxy ------------------------------------------------------------------------------

    def _pick_fault(self, method: str, path: str) -> str | None:
        s = self.state
        with s.lock:
            for i, (m, prefix, kind) in enumerate(s.scripted):
                if m == method and path.startswith(prefix):
                    del s.scripted[i]
                    return kind
            f = s.faults
            if f.rate <= 0 or method not in f.methods:
                return None
            if f.max_faults is not None and s.faults_done >= f.max_faults:
                return None
            if s.rng.random() >= f.rate:
                return None
            s.faults_done += 1
            return s.rng.choice(f.kinds)

    def _record(
        self,
        method: str,
        path: str,
        status: int | None,
        fault: str | None,
        body: bytes = b"",
        response: bytes = b"",
    ) -> None:
        response_id = None
        if response[:1] == b"{":
            try:
                value = json.loads(response).get("id")
                response_id = value if isinstance(value, str) else None
            except ValueError:
                pass
        rec = Recorded(method, path, status, time.monotonic(), fault, body[:4096], response_id)
        with self.state.lock:
            self.state.log.append(rec)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        method = h.command
        path = h.path
        body = h._body()  # type: ignore[attr-defined]
        hang = False
        if method in WRITE_METHODS:
            with self.state.lock:
                self.state.writes_seen += 1
                hang = (
                    self.state.hang_after_writes is not None
                    and self.state.writes_seen > self.state.hang_after_writes
                )
        when = self.state.hang_when
        if hang or (when is not None and when(method, path.split("?", 1)[0], body)):
            self._record(method, path, None, "hang", body)
            self.hung.set()
            self._release.wait()
            self._drop(h)
            return
        hold = self.state.hold_when
        if hold is not None and hold(method, path.split("?", 1)[0], body):
            self.held.set()
            self._forward_held.wait()
        if method in WRITE_METHODS and self.state.faults.write_delay:
            time.sleep(self.state.faults.write_delay)
        route = path.split("?", 1)[0].removeprefix(self.prefix)
        if any(route == p or route.startswith(p + "/") for p in self.retired):
            self._record(method, path, 404, "retired", body)
            self._reply(h, 404, _retired_body(method, path.split("?", 1)[0]), {})
            return
        when = self.state.faults.when
        fault = (when(method, path.split("?", 1)[0], body) if when else None) or self._pick_fault(
            method, path.split("?", 1)[0].removeprefix(self.prefix)
        )
        if fault == "drop_before":
            self._record(method, path, None, fault, body)
            self._drop(h)
            return
        if fault in ("500_before", "429"):
            status = 500 if fault == "500_before" else 429
            self._record(method, path, status, fault, body)
            extra = {"Retry-After": self.state.faults.retry_after} if status == 429 else {}
            self._reply(h, status, _error_body(status), extra)
            return
        status, headers, data = self._forward(method, path, h.headers, body)
        if self.state.rewrite is not None:
            data = self.state.rewrite(method, path.split("?", 1)[0], data)
        if fault == "drop_after":
            self._record(method, path, status, fault, body, data)
            self._drop(h)
            return
        if fault == "slow_after":
            self._record(method, path, status, fault, body, data)
            time.sleep(self.state.faults.slow_seconds)
            with contextlib.suppress(OSError):  # the client may have hung up
                self._reply(h, status, data, headers)
            return
        if fault == "500_after":
            self._record(method, path, 500, fault, body, data)
            self._reply(h, 500, _error_body(500), {})
            return
        self._record(method, path, status, fault, body, data)
        self._reply(h, status, data, headers)

    def _forward(
        self, method: str, path: str, headers: object, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            fwd = {
                k: v
                for k, v in headers.items()  # type: ignore[attr-defined]
                if k.lower() not in _HOP and k.lower() != "host"
            }
            fwd["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=fwd)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP}
            return resp.status, out, data
        finally:
            conn.close()

    @staticmethod
    def _reply(
        h: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]
    ) -> None:
        h.send_response(status)
        for k, v in headers.items():
            if k.lower() in ("date", "server"):
                continue
            h.send_header(k, v)
        if not any(k.lower() == "content-type" for k in headers):
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _drop(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)


def _retired_body(method: str, path: str) -> bytes:
    error = {
        "message": f"Invalid URL ({method} {path})",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return json.dumps({"error": error}).encode()


def openai_today(upstream_base_url: str) -> FaultProxy:
    """A started proxy that plays OpenAI as it is today in front of ``upstream_base_url``:
    /v1/assistants and /v1/threads answer 404; files, vector stores, agents, responses,
    conversations and containers go through."""
    return FaultProxy(upstream_base_url, retired=RETIRED_BY_OPENAI).start()


def _error_body(status: int) -> bytes:
    kind = "rate_limit_exceeded" if status == 429 else "server_error"
    message = (
        "Rate limit reached (injected by the test proxy)."
        if status == 429
        else "The server had an error while processing your request (injected by the test proxy)."
    )
    return json.dumps(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}
    ).encode()
