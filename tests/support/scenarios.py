"""Helpers for the scenario-runner tests (no tests here).

- :func:`make_project` copies the example project (assistants, scenarios, handlers)
  into a temporary folder with its own namespace, optionally with extra scenarios;
- :func:`apply_assistants` creates the project's assistants on a server through the
  SDK with the reserved metadata and spec hash ``orchestrator apply`` writes
  (:func:`orchestrator.ownership.managed_metadata`, the desired state's hash), so these
  tests do not depend on the reconciler's server access;
- :func:`run_test_command` runs ``orchestrator test`` in-process with click's runner.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.ownership import managed_metadata
from orchestrator.project import load_project
from orchestrator.project.specs import AssistantSpec, Project
from orchestrator.reconcile.desired import desired_state
from orchestrator.server.config import ServerConfig
from orchestrator.targets import STATE_DIR, make_client
from orchestrator.targets.embedded import EmbeddedServer
from orchestrator.testing import ServerProcess
from tests.support import ROOT


def new_namespace() -> str:
    return "t-" + uuid.uuid4().hex[:10]


def make_project(
    tmp: Path,
    namespace: str,
    scenarios: dict[str, str] | None = None,
    *,
    examples: bool = True,
    handlers: dict[str, str] | None = None,
) -> Path:
    """A project folder: the examples' assistants, their scenarios unless replaced."""
    root = tmp / "project"
    root.mkdir()
    (root / "orchestrator.yaml").write_text(
        textwrap.dedent(
            f"""\
            kind: Project
            namespace: {namespace}
            paths:
              assistants: [assistants]
              scenarios: [scenarios]
            defaults:
              model: gpt-4o
            """
        ),
        encoding="utf-8",
    )
    shutil.copytree(ROOT / "assistants", root / "assistants")
    shutil.copytree(ROOT / "schemas", root / "schemas")
    if examples:
        shutil.copytree(
            ROOT / "scenarios",
            root / "scenarios",
            ignore=shutil.ignore_patterns("*.cassette.yaml", "__pycache__"),
        )
    else:
        (root / "scenarios" / "handlers").mkdir(parents=True)
        shutil.copy(ROOT / "scenarios/handlers/quiz.py", root / "scenarios/handlers/quiz.py")
    for name, text in (scenarios or {}).items():
        (root / "scenarios" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    for name, text in (handlers or {}).items():
        (root / "scenarios" / "handlers" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def load(root: Path, paths: list[Path] | None = None) -> Project:
    project = load_project(root, paths)
    errors = [str(d) for d in project.diagnostics if d.severity == "error"]
    assert not errors, "\n".join(errors)
    return project


def _create_assistant(
    client: openai.OpenAI, a: AssistantSpec, namespace: str, spec_sha256: str
) -> str:
    tool_resources: dict[str, Any] = {}
    if a.vector_store is not None and a.vector_store.files:
        vs = client.vector_stores.create(name=a.vector_store.key)
        batch = client.vector_stores.file_batches.upload_and_poll(
            vs.id,
            files=[(f.filename, f.content) for f in a.vector_store.files],
            poll_interval_ms=20,
        )
        assert batch.file_counts.completed == len(a.vector_store.files), batch
        tool_resources["file_search"] = {"vector_store_ids": [vs.id]}
    if a.code_interpreter_files:
        ids = [
            client.files.create(file=(f.filename, f.content), purpose="assistants").id
            for f in a.code_interpreter_files
        ]
        tool_resources["code_interpreter"] = {"file_ids": ids}
    params: dict[str, Any] = {
        "model": a.model,
        "name": a.name,
        "instructions": a.instructions,
        "tools": [t.to_api() for t in a.tools],
        "metadata": {**a.metadata, **managed_metadata(namespace, a.key, spec_sha256)},
    }
    if tool_resources:
        params["tool_resources"] = tool_resources
    if a.temperature is not None:
        params["temperature"] = a.temperature
    return client.beta.assistants.create(**params).id


@contextlib.contextmanager
def embedded_client(root: Path) -> Iterator[openai.OpenAI]:
    """A client on the project's embedded server state (.orchestrator/), as the CLI's
    default target would start it."""
    config = ServerConfig(
        db_path=root / STATE_DIR / "server.sqlite3", host="127.0.0.1", port=0, api_key="k"
    )
    with EmbeddedServer(config) as srv:
        yield make_client(srv.base_url, "k", max_retries=0)


def apply_embedded(root: Path, keys: list[str] | None = None) -> dict[str, str]:
    """Create the project's assistants in its embedded server's state (.orchestrator/)."""
    with embedded_client(root) as client:
        return apply_assistants(client, root, keys)


def apply_assistants(
    client: openai.OpenAI, root: Path, keys: list[str] | None = None
) -> dict[str, str]:
    """Create the project's assistants (those in ``keys``, default all); key -> id."""
    project = load(root, [root / "assistants"])  # the scenarios may be broken on purpose
    ns = project.config.namespace
    desired = desired_state(project, ns)
    return {
        a.key: _create_assistant(client, a, ns, desired.assistants[a.key].sha256)
        for a in project.assistants
        if keys is None or a.key in keys
    }


@dataclass
class CommandResult:
    exit_code: int
    output: str


def run_test_command(
    root: Path, *args: str, base_url: str | None, api_key: str | None = None
) -> CommandResult:
    """``orchestrator test -C root [--base-url URL] ARGS`` in-process.

    On a URL target with ``--allow-drift``: these tests make the assistants with the SDK
    (:func:`apply_assistants`), not with the reconciler whose state `test` compares."""
    argv = ["test", "-C", str(root)]
    if base_url:
        argv += ["--base-url", base_url, "--allow-drift"]
    if api_key:
        argv += ["--api-key", api_key]
    env = {"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None, "ORCHESTRATOR_NAMESPACE": None}
    result = CliRunner().invoke(cli, [*argv, *args], env=env, catch_exceptions=False)
    return CommandResult(result.exit_code, result.output)


# --- a stand-in for a real model (a test double outside the product) ----------------


def _quiz_arguments() -> dict[str, Any]:
    return {
        "title": "Right triangles (upstream)",
        "questions": [
            {
                "question_text": "What is the hypotenuse?",
                "question_type": "FREE_RESPONSE",
                "choices": [],
            },
            {
                "question_text": "3² + 4² = ?",
                "question_type": "MULTIPLE_CHOICE",
                "choices": ["25", "49"],
            },
        ],
    }


class FakeUpstream:
    """A scripted ``/v1/chat/completions`` endpoint that behaves unlike the local model.

    It plays "a real model" for the runner's record/replay and failure tests: replies
    the local model would never write, the built-in tools called as functions, and on
    request a function call whose arguments break the function's schema (``BADARGS``
    in the user message). Streaming only, like the chat provider asks.
    """

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                chunks = owner.respond(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()

    @staticmethod
    def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "fake-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _text(self, text: str) -> list[dict[str, Any]]:
        words = text.split(" ")
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        return (
            [self._chunk({"role": "assistant", "content": ""})]
            + [self._chunk({"content": p}) for p in pieces]
            + [self._chunk({}, "stop")]
        )

    def _call(self, name: str, args: dict[str, Any]) -> list[dict[str, Any]]:

        call = {
            "index": 0,
            "id": f"call_fake_{name}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
        }
        return [
            self._chunk({"role": "assistant", "tool_calls": [call]}),
            self._chunk({}, "tool_calls"),
        ]

    def respond(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        messages = body.get("messages", [])
        tools = {
            t["function"]["name"] for t in body.get("tools", []) if t.get("type") == "function"
        }
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":
            output = str(last.get("content") or "")
            markers = re.findall(r"【[^】]*】", output)
            if markers:
                return self._text(
                    f"Upstream answer: the hypotenuse is the longest side. {markers[0]}"
                )
            return self._text(f"Upstream feedback on the tool output: {output[:120]}")
        user = str(last.get("content") or "")
        if "BADARGS" in user and "display_quiz" in tools:
            return self._call("display_quiz", {"title": 42})
        if "display_quiz" in user and "display_quiz" in tools:
            return self._call("display_quiz", _quiz_arguments())
        code = re.search(r"```(?:python)?\n(.*?)```", user, re.DOTALL)
        if code and "code_interpreter" in tools:
            return self._call("code_interpreter", {"code": code.group(1)})
        if "file_search" in tools:
            return self._call("file_search", {"query": "hypotenuse Pythagorean theorem"})
        return self._text(f"Upstream model here, answering: {user}")


@contextlib.contextmanager
def chat_server_on_fake_upstream(
    server_factory: Callable[..., ServerProcess],
) -> Iterator[ServerProcess]:
    """A ``--model-provider chat`` server (in-memory) whose upstream is a
    :class:`FakeUpstream`, for a module-scoped ``chat_server`` fixture."""
    upstream = FakeUpstream()
    try:
        yield server_factory(
            "--model-provider", "chat", "--upstream-base-url", upstream.base_url, persistent=False
        )
    finally:
        upstream.close()


class CuttingProxy:
    """A TCP proxy (test double) that drops the connection in the middle of a run's
    event stream: after the server has sent ``thread.run.created``, as a network
    failure would. Every other exchange passes through untouched."""

    MARKER = b"event: thread.run.created"

    def __init__(self, upstream_port: int) -> None:
        import socket

        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, src: Any, dst: Any, cut: bool) -> None:
        import socket

        try:
            while data := src.recv(65536):
                if cut and self.MARKER in data:
                    dst.sendall(data[: data.index(self.MARKER)])
                    self.cuts += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
