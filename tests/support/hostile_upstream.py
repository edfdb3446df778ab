"""A chat-completions upstream that echoes the credentials it was sent (a test double).

What a careless or hostile model endpoint does: its error bodies repeat the request's
``Authorization`` header, its URL (query string included) and the key in the forms
providers commonly echo (truncated at the end of a long message, first 8 + last 4,
base64) -- also to GETs, as a hostile *target* of plan/apply; ``redirect`` answers send a ``Location`` carrying the key. A test plants keys
in the server's upstream URL, environment and headers, then checks that none of them
reaches a log line, a stored ``last_error``/``error`` or an API body.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoingUpstream:
    def __init__(self, key: str) -> None:
        self.key = key
        # "echo" (a 401 that repeats everything) or "redirect" (a 307 to a URL with the key).
        self.mode = "echo"
        self.requests = 0
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                upstream.requests += 1
                if upstream.mode == "redirect":
                    # `k=` is no credential name: only knowing the key itself can catch it.
                    where = f"http://127.0.0.1:1/v1/chat/completions?k={upstream.key}"
                    self._send(307, b"", {"location": where})
                    return
                self._send(401, upstream.echo(self.path, self.headers.get("authorization", "")))

            def do_GET(self) -> None:  # as a target: every list fails, echoing the key
                upstream.requests += 1
                self._send(400, upstream.echo(self.path, self.headers.get("authorization", "")))

            def _send(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def echo(self, path: str, authorization: str) -> bytes:
        key = self.key
        message = (
            f"request {path} with header 'Authorization: {authorization}' refused; "
            f"key {key[:8]}...{key[-4:]} (base64 {base64.b64encode(key.encode()).decode()}) "
            + "is not valid for this project "
            + "x" * 200
            + f" key={key}"
        )
        return json.dumps({"error": {"message": message, "type": "invalid_api_key"}}).encode()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> EchoingUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
