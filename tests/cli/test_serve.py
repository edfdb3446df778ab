"""`orchestrator serve` inside a project: the project's state and `server:` settings."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.settings import resolve_settings
from orchestrator.targets import connect
from orchestrator.testing import ServerProcess
from tests.support.upstream import FailingUpstream

pytestmark = pytest.mark.integration


@dataclass
class ProjectServe(ServerProcess):
    """`serve` without --db: where its state goes is what this test is about."""

    def command(self) -> list[str]:
        args = super().command()
        i = args.index("--db")
        return args[:i] + args[i + 2 :]


def test_serve_in_a_project_serves_its_state_with_its_model_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith(("ORCHESTRATOR_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    root = tmp_path / "project"
    inner = root / "assistants" / "nested"
    inner.mkdir(parents=True)
    with FailingUpstream() as upstream:
        (root / "orchestrator.yaml").write_text(
            "kind: Project\n"
            "server:\n"
            "  model_provider: chat\n"
            f"  upstream_base_url: {upstream.base_url}\n"
            "  upstream_max_retries: 0\n"
            "  model_map: {gpt-4o: from-project}\n",
            encoding="utf-8",
        )
        # Something the embedded target wrote into the project's state...
        with connect(resolve_settings(root).target) as client:
            made = client.beta.assistants.create(model="gpt-4o", name="from-embedded")
        # ...is what `serve`, started deep inside the project, serves.
        with ProjectServe(cwd=inner, log_path=tmp_path / "serve.log") as server:
            client = server.client()
            assert client.beta.assistants.retrieve(made.id).name == "from-embedded"
            run = client.beta.threads.create_and_run_poll(
                assistant_id=made.id,
                thread={"messages": [{"role": "user", "content": "hi"}]},
                poll_interval_ms=50,
            )
        log = (tmp_path / "serve.log").read_text()
    assert f"state: {root.resolve() / '.orchestrator' / 'server.sqlite3'}" in log
    assert "model: chat" in log
    assert not (inner / ".orchestrator").exists()
    # The project's provider, upstream, retry setting and model map: one try, mapped model.
    assert run.status == "failed"
    assert [r["body"]["model"] for r in upstream.requests] == ["from-project"]


def test_serve_reports_a_malformed_model_map_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from orchestrator.cli import cli
    from orchestrator.cli.exit_codes import USAGE

    for name in [k for k in os.environ if k.startswith(("ORCHESTRATOR_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ORCHESTRATOR_MODEL_MAP", "gpt-4o")
    result = CliRunner().invoke(cli, ["serve", "-C", str(tmp_path), "--port", "0"])
    assert result.exit_code == USAGE
    assert "ORCHESTRATOR_MODEL_MAP: expected ASSISTANT_MODEL=UPSTREAM_MODEL" in result.output
    assert "Traceback" not in result.output


def _make_read_only(path: Path) -> bool:
    """Read-only even for root (chattr +i) or for a normal user (chmod); False if neither."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return True
    return (
        subprocess.run(["chattr", "+i", str(path), str(path.parent)], check=False).returncode == 0
    )


def _undo_read_only(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path), str(path.parent)], check=False)
    else:
        path.parent.chmod(0o755)


@pytest.mark.parametrize("state", ["read-only", "not a database"])
def test_serve_on_state_it_cannot_write_is_one_line_error(tmp_path: Path, state: str) -> None:
    db = tmp_path / "state" / "db.sqlite3"
    db.parent.mkdir()
    if state == "read-only":
        sqlite3.connect(db).execute("CREATE TABLE t (a)").connection.close()
        if not _make_read_only(db):
            pytest.skip("cannot make a file read-only for root here (no chattr)")
    else:
        db.write_bytes(b"this is not sqlite\n" * 100)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "orchestrator", "serve", "--db", str(db), "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")},
        )
    finally:
        if state == "read-only":
            _undo_read_only(db)
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: could not serve"), done.stderr
    assert f"cannot open the state database {db}" in lines[0] and "--db" in lines[0]
