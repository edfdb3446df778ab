"""The reconcile commands on a terminal (confirmation, colours, progress) and on the
embedded default target."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from tests.support import API_KEY, ROOT
from tests.support import reconcile as support
from tests.support.reconcile import Proj, managed


class Terminal:
    """A command run on a pseudo-terminal, read and typed into like a user would."""

    def __init__(self, args: list[str]) -> None:
        self.master, slave = pty.openpty()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ORCHESTRATOR_"))
        }
        env["TERM"] = "xterm"
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.buffer = b""

    def read_until(self, marker: bytes, timeout: float = 120) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, (
                f"timed out waiting for {marker!r}; got:\n{self.buffer.decode(errors='replace')}"
            )
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    assert marker in self.buffer, self.buffer.decode(errors="replace")
                    break
                self.buffer += chunk
        return self.buffer

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 120) -> int:
        """Read everything until the command exits; its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 1.0)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            self.buffer += chunk
        code = self.proc.wait(timeout)
        os.close(self.master)
        return code


def command(proj: Proj, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "orchestrator",
        args[0],
        "-C",
        str(proj.root),
        "--base-url",
        proj.proxy.base_url,
        "--api-key",
        API_KEY,
        *args[1:],
    ]


def test_apply_on_a_terminal_asks_shows_colours_and_progress(proj: Proj, direct) -> None:
    proj.basic()
    term = Terminal(command(proj, "apply"))
    term.read_until(b"Enter a value:")
    assert b"\x1b[" in term.buffer  # colours on a TTY
    term.type("no\n")
    assert term.finish() == 1
    assert b"apply cancelled" in term.buffer
    assert managed(direct, proj.ns).assistants == []

    term = Terminal(command(proj, "apply"))
    term.read_until(b"Enter a value:")
    term.type("yes\n")
    assert term.finish() == 0, term.buffer.decode(errors="replace")
    out = term.buffer.decode(errors="replace")
    assert "Indexing files [" in out and "2/2" in out
    assert "Apply complete!" in out
    assert len(managed(direct, proj.ns).assistants) == 2


def test_output_off_a_terminal_has_no_colour_codes(proj: Proj) -> None:
    proj.basic()
    r = proj.ok("plan")
    assert "\x1b[" not in r.output
    r = proj.ok("apply", "--yes")
    assert "\x1b[" not in r.output and "Indexing files" not in r.output


def test_embedded_target_is_the_default(proj: Proj) -> None:
    proj.basic()
    r = proj.cli("apply", "--yes", target=False)
    assert r.exit_code == 0, r.output
    assert "embedded server" in r.stdout and "6 added" in r.stdout
    assert (proj.root / ".orchestrator" / "server.sqlite3").exists()
    assert proj.lockfile()["target"] == "embedded"
    r = proj.cli("plan", "--detailed-exitcode", target=False)
    assert r.exit_code == 0, r.output
    assert "No changes." in r.stdout


def test_user_mistakes_are_one_clear_line(proj: Proj, tmp_path) -> None:
    proj.basic()
    r = proj.cli("apply", str(tmp_path / "missing.json"))
    assert r.exit_code == 1
    assert "not a plan saved by `orchestrator plan -o`" in r.stderr
    bad = proj.write("bad.json", '{"format_version": 99}')
    r = proj.cli("apply", str(bad))
    assert r.exit_code == 1 and "format_version 99 is not supported" in r.stderr
    r = proj.cli("plan", "-n", "not a namespace!")
    assert r.exit_code == 1 and "namespace 'not a namespace!' is not valid" in r.stderr
    r = proj.cli("plan", str(proj.root / "assistants/tutor.yaml"), "--prune")
    assert r.exit_code == 1 and "--prune needs the whole project" in r.stderr
    r = proj.runner.invoke(
        support.cli,
        ["plan", "-C", str(proj.root), "--base-url", "http://127.0.0.1:9/v1", "--api-key", "k"],
        env={"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None},
    )
    assert r.exit_code == 1 and "could not reach http://127.0.0.1:9/v1" in r.stderr
    assert "Traceback" not in r.output
    r = proj.runner.invoke(
        support.cli,
        ["plan", "-C", str(proj.root), "--base-url", proj.proxy.base_url, "--api-key", "wrong"],
        env={"OPENAI_BASE_URL": None, "OPENAI_API_KEY": None},
    )
    assert r.exit_code == 1 and "refused the API key (HTTP 401)" in r.stderr
    assert "wrong" not in r.output  # keys are never printed


def test_a_saved_plan_is_applied_only_where_it_was_made(proj: Proj) -> None:
    proj.basic()
    saved = proj.root / "plan.json"
    proj.ok("plan", "-o", str(saved))
    r = proj.cli("apply", str(saved), "-n", "prod")
    assert r.exit_code == 1 and "is a plan for namespace" in r.stderr and "'prod'" in r.stderr
    r = proj.runner.invoke(
        support.cli,
        ["apply", str(saved), "-C", str(proj.root), "--base-url", "http://127.0.0.1:9/v1"],
        env={"OPENAI_BASE_URL": None, "OPENAI_API_KEY": "k"},
    )
    assert r.exit_code == 1 and "but this apply targets http://127.0.0.1:9/v1" in r.stderr
    r = proj.cli("apply", str(saved), "--prune")
    assert r.exit_code == 1 and "--prune and --adopt belong to `plan`" in r.stderr
    r = proj.ok("apply", str(saved))
    assert "Resources: 6 added, 0 changed, 0 destroyed." in r.stdout
