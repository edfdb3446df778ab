"""Off a terminal, a long change prints Terraform's "Still uploading… [Ns elapsed]";
`serve` says in one line why it cannot start (port in use, a bad --db), and `serve -v`
logs each request without keys."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import openai
import pytest

from tests.support.cli import run_cli
from tests.support.reconcile import Proj

pytestmark = pytest.mark.integration


def test_a_long_upload_prints_still_lines_off_a_terminal(
    proj: Proj, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj.basic()
    held = threading.Event()

    def first_upload(method: str, path: str, body: bytes) -> bool:
        # Hold the first file upload until the test saw the heartbeat, then let it go.
        if method == "POST" and path.endswith("/files") and not held.is_set():
            held.set()
            return True
        return False

    proj.proxy.configure(hang_when=first_upload)
    monkeypatch.setenv("ORCHESTRATOR_PROGRESS_INTERVAL", "0.05")
    p = proj.subprocess_cli("apply", "--yes")
    assert p.stdout is not None
    seen: list[str] = []
    try:
        for line in p.stdout:
            seen.append(line)
            if re.fullmatch(r"file\.\S+: Still uploading… \[\d+s elapsed\]\n", line):
                break
        proj.proxy.release()
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
        proj.proxy.configure()
    seen.append(out)
    assert p.returncode == 0, "".join(seen) + err
    assert any("Still uploading… [" in line for line in seen), "".join(seen)
    assert "Apply complete!" in "".join(seen)


def test_no_still_lines_when_the_interval_is_zero(
    proj: Proj, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj.basic()
    monkeypatch.setenv("ORCHESTRATOR_PROGRESS_INTERVAL", "0")
    p = proj.subprocess_cli("apply", "--yes")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, out + err
    assert "Still" not in out + err


def serve(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ORCHESTRATOR_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "serve", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli(tmp_path, "serve", "--port", str(port), "--db", ":memory:")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        f"Error: could not serve on 127.0.0.1:{port}: the port is in use (another server?); "
        "pick another with --port, or --port 0 for any free one"
    ]


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_serve_with_a_bad_db_path_is_one_line(tmp_path: Path, where: str) -> None:
    db = tmp_path / "nope" / "state.db" if where == "missing folder" else tmp_path
    r = run_cli(tmp_path, "serve", "--port", "0", "--db", str(db))
    assert r.returncode == 1, r.stdout + r.stderr
    (line,) = r.stderr.splitlines()
    if where == "missing folder":
        assert line == (
            f"Error: --db {db}: the folder {db.parent} does not exist; create it first, or "
            "pick another path (':memory:' keeps nothing)"
        )
        assert not db.parent.exists()
    else:
        assert line.startswith(f"Error: --db {db} is a folder;")


def test_serve_v_logs_requests_without_keys(tmp_path: Path) -> None:
    p = serve("-v", "--port", "0", "--db", ":memory:", "--api-key", "sk-serve-secret", cwd=tmp_path)
    try:
        assert p.stdout is not None
        first = p.stdout.readline()
        (url,) = re.findall(r"on (http://\S+/v1)", first)
        client = openai.OpenAI(base_url=url, api_key="sk-serve-secret", max_retries=0)
        created = client.beta.assistants.create(model="gpt-4o", name="logged")
        client.beta.assistants.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            client.beta.assistants.retrieve("asst_missing")
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(
                base_url=url, api_key="sk-wrong-key", max_retries=0
            ).beta.assistants.list()
        # A request is logged once its response is sent: read up to the last one's line.
        assert p.stderr is not None
        seen = []
        for line in p.stderr:
            seen.append(line)
            if " 401 " in line:
                break
    finally:
        p.terminate()
        _, rest = p.communicate(timeout=60)
    err = "".join(seen) + rest
    lines = [ln for ln in err.splitlines() if "orchestrator.requests" in ln]
    pattern = r"INFO orchestrator\.requests: (\w+) (\S+) (\d{3}) \d+\.\d ms"
    logged = [re.fullmatch(pattern, ln).groups() for ln in lines]  # type: ignore[union-attr]
    assert ("POST", "/v1/assistants", "200") in logged, err
    assert ("GET", f"/v1/assistants/{created.id}", "200") in logged, err
    assert ("GET", "/v1/assistants/asst_missing", "404") in logged, err
    assert ("GET", "/v1/assistants", "401") in logged, err
    assert "sk-serve-secret" not in err and "sk-wrong-key" not in err


def test_serve_without_v_logs_no_requests(tmp_path: Path) -> None:
    p = serve("--port", "0", "--db", ":memory:", cwd=tmp_path)
    try:
        assert p.stdout is not None
        first = p.stdout.readline()
        (url,) = re.findall(r"on (http://\S+/v1)", first)
        openai.OpenAI(base_url=url, api_key="k", max_retries=0).beta.assistants.list()
    finally:
        p.terminate()
        _, err = p.communicate(timeout=60)
    assert "orchestrator.requests" not in err
