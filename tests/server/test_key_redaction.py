"""No key or credential-bearing URL reaches a log line, a stored error or an API body.

A real ``orchestrator -vv serve`` process (debug logging: every request URL, every
response header) runs the chat provider against :class:`EchoingUpstream`, a test double
that repeats what it was sent. Keys are planted in the upstream URL (``user:pass@``,
``?key=``), in the environment (``ORCHESTRATOR_UPSTREAM_API_KEY``) and so in the
``Authorization`` header (Basic, from the URL's user:pass). Every path that failed the
adversarial sweep (issue 10 item 9) is exercised: an Assistants run's ``last_error`` (and
its step's), a Response's ``error``, a redirect's ``Location`` at -vv, and the client
side's -v/-vv logging of a target URL.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import openai
import pytest

from orchestrator.testing import ServerProcess
from tests.support import API_KEY, ROOT
from tests.support.cli import run_cli
from tests.support.hostile_upstream import EchoingUpstream
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

# Not sk-shaped: only knowing the configured secret can catch it.
UPSTREAM_KEY = "gsk_" + secrets.token_hex(16)
USER = "alice"
PASSWORD = "pw" + secrets.token_hex(12)
QUERY_KEY = "qk" + secrets.token_hex(12)
PLANTED = (UPSTREAM_KEY, PASSWORD, QUERY_KEY, f"{USER}:{PASSWORD}")


def leaks(text: str) -> list[str]:
    """Every planted secret found in ``text``: a 12-character piece of it, or its base64."""
    found = []
    for secret in PLANTED:
        raw = secret.encode()
        forms = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
        forms |= {f.rstrip("=") for f in forms}
        pieces = {secret[i : i + 12] for i in range(len(secret) - 11)}
        found += [f for f in forms | pieces if f in text]
    return found


class VerboseServer(ServerProcess):
    """``orchestrator -vv serve``: debug logging on (a global option, before the command)."""

    def command(self) -> list[str]:
        args = super().command()
        at = args.index("serve")
        return [*args[:at], "-vv", *args[at:]]


@pytest.fixture(scope="module")
def upstream():
    with EchoingUpstream(UPSTREAM_KEY) as u:
        yield u


@pytest.fixture(scope="module")
def verbose_server(upstream: EchoingUpstream, tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("redaction") / "server.log"
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{upstream.port}/v1?key={QUERY_KEY}"
    sp = VerboseServer(
        api_key=API_KEY,
        extra_args=("--model-provider", "chat", "--upstream-max-retries", "0"),
        env={"ORCHESTRATOR_UPSTREAM_BASE_URL": url, "ORCHESTRATOR_UPSTREAM_API_KEY": UPSTREAM_KEY},
        log_path=log,
        cwd=ROOT,
    )
    sp.start()
    yield sp
    sp.stop()


@pytest.fixture
def api(verbose_server: ServerProcess, upstream: EchoingUpstream) -> openai.OpenAI:
    upstream.mode = "echo"
    return openai.OpenAI(base_url=verbose_server.base_url, api_key=API_KEY, max_retries=0)


def _failed_run(api: openai.OpenAI) -> tuple[str, str]:
    """A run that fails on the upstream: (its last_error message, all it left, as JSON)."""
    asst = api.beta.assistants.create(model="gpt-4o")
    thread = api.beta.threads.create(messages=[{"role": "user", "content": "Hello?"}])
    run = api.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=50
    )
    assert run.status == "failed" and run.last_error is not None, run
    steps = api.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    return run.last_error.message, run.model_dump_json() + steps.model_dump_json()


def test_an_echoing_upstream_leaves_no_key_in_a_runs_last_error(api, upstream) -> None:
    before = upstream.requests
    message, everything = _failed_run(api)
    assert upstream.requests > before  # the upstream was asked, and echoed the secrets
    assert "rejected the server's credentials (401" in message, message
    assert "***" in message and len(message) < 700, message
    assert leaks(everything) == []


def test_an_echoing_upstream_leaves_no_key_in_a_responses_error(api) -> None:
    response = api.responses.create(model="gpt-4o", input="Hello?")
    if response.status not in ("failed", "completed", "incomplete"):
        response = _wait_response(api, response.id)
    assert response.status == "failed" and response.error is not None, response
    assert "***" in response.error.message, response.error.message
    assert leaks(response.model_dump_json()) == []


def _wait_response(api: openai.OpenAI, response_id: str):
    def finished():
        r = api.responses.retrieve(response_id)
        return r if r.status in ("failed", "completed", "incomplete") else None

    return wait_for(finished)


def test_a_redirect_carrying_the_key_is_neither_followed_nor_shown(api, upstream) -> None:
    upstream.mode = "redirect"
    message, everything = _failed_run(api)
    assert "redirects to http://127.0.0.1:1/v1/chat/completions (307)" in message, message
    assert leaks(everything) == []


def test_the_debug_log_of_serve_carries_no_key(
    api, upstream: EchoingUpstream, verbose_server: ServerProcess
) -> None:
    # -vv logs every request URL and every response's headers (httpcore).
    _failed_run(api)
    upstream.mode = "redirect"
    _failed_run(api)
    log = verbose_server.log_text()
    assert "chat/completions" in log and "b'location'" in log  # both were really logged
    assert leaks(log) == [], leaks(log)


def test_client_logging_of_a_target_url_with_credentials(tmp_path: Path, server) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "orchestrator.yaml").write_text("kind: Project\nnamespace: redaction\n")
    (project / "assistants").mkdir()
    root = server.root_url.replace("http://", f"http://{USER}:{PASSWORD}@")
    for verbosity in ("-v", "-vv"):
        done = run_cli(
            project,
            verbosity,
            "plan",
            "--base-url",
            f"{root}/v1?key={QUERY_KEY}",
            "--api-key",
            UPSTREAM_KEY,
        )
        out = done.stdout + done.stderr
        assert "HTTP Request" in out or "DEBUG" in out, out  # the URL was logged
        assert leaks(out) == [], (verbosity, leaks(out), out)


def test_a_target_echoing_the_key_in_its_errors(tmp_path: Path, upstream) -> None:
    # The CLI's own error line (not a log record) quotes the server's error message.
    project = tmp_path / "p"
    project.mkdir()
    (project / "orchestrator.yaml").write_text("kind: Project\nnamespace: redaction\n")
    (project / "assistants").mkdir()
    before = upstream.requests
    done = run_cli(
        project,
        "plan",
        "--base-url",
        f"http://{USER}:{PASSWORD}@127.0.0.1:{upstream.port}/v1",
        "--api-key",
        UPSTREAM_KEY,
    )
    assert upstream.requests > before and done.returncode == 1, done.stderr
    assert "Error:" in done.stderr and "is not valid for this project" in done.stderr
    assert leaks(done.stdout + done.stderr) == [], done.stderr
