"""Slow and greedy clients against a real `orchestrator serve`: header and body
timeouts, the connection limit, body size limits, and a log that stays small."""

from __future__ import annotations

import json
import resource
import socket
from pathlib import Path

import httpx
import openai
import pytest

from tests.support import API_KEY

SLOW_SOCKETS = 300
# Generous safety bound for a blocked read; the assertions are about what arrives.
READ_BOUND_SECONDS = 60


def _slow_header_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(READ_BOUND_SECONDS)
    # A request line and one header, then nothing: the headers never end.
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock


def _read_until_closed(sock: socket.socket) -> bytes | None:
    """All the server sent before it closed; None if it never closed (read bound hit)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass  # closed with our unread headers pending: a reset, still the server's close
    except TimeoutError:
        return None
    finally:
        sock.close()
    return data


def _status(raw: bytes) -> int | None:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else None


def test_slow_header_flood_is_cut_off_and_server_stays_reachable(server_factory) -> None:
    server = server_factory("--header-timeout", "1", "--max-connections", "50")
    # Room for the limit plus the server's own files, far less than the flood needs:
    # without a cap the accept loop would hit EMFILE.
    resource.prlimit(server.pid, resource.RLIMIT_NOFILE, (256, 256))
    log_before = len(server.log_text())

    socks = [_slow_header_socket(server.port) for _ in range(SLOW_SOCKETS)]
    answers = [_read_until_closed(s) for s in socks]

    assert answers.count(None) == 0, "the server left slow-header connections open"
    statuses = [_status(a) for a in answers if a]
    timed_out = [a for a in answers if a and _status(a) == 408]
    refused = [a for a in answers if a and _status(a) == 503]
    # The connections within the limit were cut off by the header deadline, the others
    # refused at once; nothing else was answered.
    assert timed_out and refused
    assert set(statuses) <= {408, 503}
    body = json.loads(timed_out[0].split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == "request_timeout"
    body = json.loads(refused[0].split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == "too_many_connections"

    assert httpx.get(f"{server.root_url}/health").json()["status"] == "ok"
    log = server.log_text()[log_before:]
    # Repeated errors are logged a few times, then counted: not one line per socket,
    # and a traceback (the accept loop may briefly run out of files) once at most.
    assert log.count("Traceback") <= 1
    assert log.count("refusing connections") <= 5
    assert len(log) < 4096


def test_body_limits_and_body_timeout(server_factory) -> None:
    server = server_factory("--max-body-mb", "1", "--max-upload-mb", "2", "--body-timeout", "1")
    headers = {"authorization": f"Bearer {API_KEY}"}
    big = {"model": "gpt-4o", "instructions": "x" * (1024 * 1024)}

    # Declared too large: refused before it is read.
    r = httpx.post(f"{server.base_url}/assistants", json=big, headers=headers)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"
    assert "at most 1 MB" in r.json()["error"]["message"]

    # Chunked (no content-length): counted as it streams, refused when past the cap.
    raw = json.dumps(big).encode()
    chunks = (raw[i : i + 65536] for i in range(0, len(raw), 65536))
    r = httpx.post(f"{server.base_url}/assistants", content=chunks, headers=headers)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"

    # Uploads have their own, larger cap: 1.5 MB passes, 3 MB does not.
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    ok = client.files.create(file=("a.bin", b"a" * (1536 * 1024)), purpose="assistants")
    assert ok.bytes == 1536 * 1024
    try:
        client.files.create(file=("b.bin", b"b" * (3 * 1024 * 1024)), purpose="assistants")
    except openai.APIStatusError as err:
        assert err.status_code == 413
        assert "A file upload may be at most 2 MB" in err.message
    else:
        raise AssertionError("a 3 MB upload passed a 2 MB limit")

    # A body that stops arriving is answered 408, and the server goes on serving.
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(READ_BOUND_SECONDS)
    sock.sendall(
        b"POST /v1/assistants HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b"authorization: Bearer " + API_KEY.encode() + b'\r\ncontent-length: 100\r\n\r\n{"mo'
    )
    answer = _read_until_closed(sock)
    assert answer is not None and _status(answer) == 408
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"
    assert httpx.get(f"{server.root_url}/health").json()["status"] == "ok"


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def test_an_upload_is_streamed_to_disk_not_held_in_memory(server_factory) -> None:
    server = server_factory()
    client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    client.files.create(file=("warm.bin", b"w" * 1024), purpose="assistants")
    size = 96 * 1024 * 1024
    before = _peak_rss_bytes(server.pid)
    f = client.files.create(file=("big.bin", b"z" * size), purpose="assistants")
    grown = _peak_rss_bytes(server.pid) - before
    assert f.bytes == size
    # Held whole, the upload would raise the peak by at least its size.
    assert grown < size // 3, f"peak RSS grew {grown // 2**20} MB for a 96 MB upload"


def test_a_message_holds_at_most_256k_characters(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    at_limit = client.beta.threads.messages.create(thread.id, role="user", content="é" * 256_000)
    assert len(at_limit.content[0].text.value) == 256_000  # type: ignore[union-attr]

    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.create(thread.id, role="user", content="x" * 256_001)
    assert err.value.body["param"] == "content"
    assert err.value.body["code"] == "string_above_max_length"
    assert "maximum length 256000, but got a string with length 256001" in err.value.message

    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.create(
            messages=[{"role": "user", "content": [{"type": "text", "text": "y" * 300_000}]}]
        )
    assert err.value.body["param"] == "messages[0].content[0].text"
    # Nothing was stored by the refused requests.
    assert [m.id for m in client.beta.threads.messages.list(thread.id)] == [at_limit.id]
