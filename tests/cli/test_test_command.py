"""`orchestrator test` knows what it is testing: on the embedded target it applies the
YAML first (one line), on a URL target it refuses assistants that differ from the YAML
(naming assistant and field), and a model endpoint that is down or failing is an ERROR
(exit 2) with its cause, never a FAIL with "expectation not met" lines."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestrator.cli.exit_codes import TEST_ERROR
from tests.support import API_KEY
from tests.support.cli import run_cli

pytestmark = pytest.mark.integration

ASSISTANT = "assistants/order-helper.yaml"


def new_project(tmp_path: Path) -> Path:
    r = run_cli(tmp_path, "init", "proj")
    assert r.returncode == 0, r.stdout + r.stderr
    return tmp_path / "proj"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# Many CLI processes in a row: more than the default per-test limit on a busy machine.
@pytest.mark.timeout(600)
def test_embedded_target_syncs_before_it_tests(tmp_path: Path) -> None:
    proj = new_project(tmp_path)
    r = run_cli(proj, "test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Synced 1 assistant to the embedded server." in r.stdout.splitlines()
    assert (proj / "assistants.lock.json").is_file()  # as apply writes it

    r = run_cli(proj, "test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Up to date: the embedded server matches the YAML." in r.stdout.splitlines()

    edit(proj / ASSISTANT, "model: gpt-4o", "model: gpt-4o-mini")
    r = run_cli(proj, "test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Synced 1 assistant to the embedded server." in r.stdout.splitlines()
    # What was tested is what is applied: the plan has nothing left to do.
    r = run_cli(proj, "plan", "--detailed-exitcode")
    assert r.returncode == 0, r.stdout + r.stderr


def url_args(base_url: str, namespace: str) -> list[str]:
    return ["--base-url", base_url, "--api-key", API_KEY, "-n", namespace]


# Many CLI processes in a row: more than the default per-test limit on a busy machine.
@pytest.mark.timeout(600)
def test_url_target_refuses_assistants_that_differ_from_the_yaml(server, tmp_path: Path) -> None:
    proj = new_project(tmp_path)
    target = url_args(server.base_url, "t-" + uuid.uuid4().hex[:8])

    r = run_cli(proj, "test", *target)
    assert r.returncode == TEST_ERROR, r.stdout + r.stderr
    assert (
        "order-helper: not on the server; run `orchestrator apply` or pass --allow-drift"
        in r.stderr
    )
    assert "Scenario" not in r.stdout  # nothing was played

    r = run_cli(proj, "apply", "--yes", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_cli(proj, "test", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Synced" not in r.stdout  # a URL target is never written by `test`

    edit(proj / ASSISTANT, "model: gpt-4o", "model: gpt-4o-mini")
    r = run_cli(proj, "test", *target)
    assert r.returncode == TEST_ERROR, r.stdout + r.stderr
    assert (
        "order-helper: model differs (server gpt-4o, YAML gpt-4o-mini); "
        "run `orchestrator apply` or pass --allow-drift" in r.stderr
    ), r.stderr
    assert "Traceback" not in r.stderr

    edit(proj / ASSISTANT, "description: The order id", "description: The order's id")
    r = run_cli(proj, "test", *target)
    assert r.returncode == TEST_ERROR, r.stdout + r.stderr
    assert "differ from the YAML; run `orchestrator apply` or pass --allow-drift:" in r.stderr
    lines = r.stderr.splitlines()
    assert "  order-helper: model differs (server gpt-4o, YAML gpt-4o-mini)" in lines
    assert any(
        line.startswith("  order-helper: tools differ (") and "order_id.description" in line
        for line in lines
    ), r.stderr

    r = run_cli(proj, "test", "--allow-drift", *target)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 scenario run: 1 passed" in r.stdout


class Failing5xx:
    """A stand-in model endpoint that answers every request with a 503."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"error": {"message": "model overloaded", "type": "server_error"}}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def failing_upstream() -> Iterator[Failing5xx]:
    upstream = Failing5xx()
    yield upstream
    upstream.close()


@pytest.mark.parametrize("upstream", ["refused", "503"])
def test_a_failing_model_endpoint_is_an_error_not_a_failure(
    server_factory, failing_upstream: Failing5xx, tmp_path: Path, upstream: str
) -> None:
    base = (
        f"http://127.0.0.1:{refused_port()}/v1"
        if upstream == "refused"
        else failing_upstream.base_url
    )
    chat = server_factory(
        "--model-provider",
        "chat",
        "--upstream-base-url",
        base,
        "--upstream-max-retries",
        "0",
        persistent=False,
    )
    proj = new_project(tmp_path)
    target = url_args(chat.base_url, "default")
    r = run_cli(proj, "apply", "--yes", *target)
    assert r.returncode == 0, r.stdout + r.stderr

    r = run_cli(proj, "test", *target)
    out = r.stdout + r.stderr
    assert r.returncode == TEST_ERROR, out
    assert "ERROR order status" in out
    assert "the model endpoint failed, so the turn could not be tested" in out
    cause = "is unreachable" if upstream == "refused" else "failed (503: model overloaded)"
    assert f"The upstream model endpoint {base}" in out and cause in out, out
    assert "expectation" not in out and "FAIL " not in out
    assert "1 scenario run: 0 passed, 0 failed, 1 error" in out
