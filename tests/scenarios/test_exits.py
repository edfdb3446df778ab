"""Handler code cannot end ``orchestrator test``: ``sys.exit`` or ``KeyboardInterrupt``
from a handler is that scenario's error (exit code 2, never the handler's own code),
and a real Ctrl-C stops the run with exit code 130 — both with the ``--json`` and
``--junit`` reports written and no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support import API_KEY, ROOT
from tests.support.cli import interruptible
from tests.support.scenarios import (
    apply_assistants,
    make_project,
    new_namespace,
    run_test_command,
)
from tests.support.waiting import wait_for

FAILS = """\
    kind: Scenario
    name: fails
    assistant: quiz-generator
    handlers: [handlers/quiz.py]
    turns:
      - user: hello
        expect: {reply: {contains: "no model says this"}}
    """

EXITS = """\
    kind: Scenario
    name: exits
    assistant: quiz-generator
    handlers: [handlers/exiting.py]
    turns:
      - user: Use display_quiz to quiz me on triangles.
      - user: never played
    """


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("def display_quiz(title, questions):\n    sys.exit(0)\n", "called sys.exit(0)"),
        ("def display_quiz(title, questions):\n    sys.exit(3)\n", "called sys.exit(3)"),
        (
            "def display_quiz(title, questions):\n    raise KeyboardInterrupt\n",
            "raised KeyboardInterrupt",
        ),
        (
            "async def display_quiz(title, questions):\n    raise SystemExit(0)\n",
            "called sys.exit(0)",
        ),
    ],
)
def test_a_handler_that_exits_is_a_scenario_error(
    server, tmp_path: Path, body: str, said: str
) -> None:
    handlers = {"exiting.py": "import sys\nfrom orchestrator import handler\n\n"}
    handlers["exiting.py"] += "@handler('display_quiz')\n" + body
    root = make_project(
        tmp_path,
        new_namespace(),
        {"a-fails.yaml": FAILS, "b-exits.yaml": EXITS},
        examples=False,
        handlers=handlers,
    )
    apply_assistants(server.client(), root, ["quiz-generator"])
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    res = run_test_command(
        root,
        "--keep-threads",
        "--json",
        str(report),
        "--junit",
        str(junit),
        base_url=server.base_url,
        api_key=API_KEY,
    )
    assert res.exit_code == 2, res.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["summary"] | {"total": 2, "passed": 0, "failed": 1, "errors": 1} == data["summary"]
    by_name = {s["name"]: s for s in data["scenarios"]}
    assert by_name["fails"]["outcome"] == "failed"
    exits = by_name["exits"]
    assert exits["outcome"] == "error" and exits["failures"] == []
    assert exits["error"]["kind"] == "handler" and exits["error"]["turn"] == 0
    assert f"for display_quiz {said}; a handler must return" in exits["error"]["message"]
    assert "the run was cancelled (status: cancelled)" in exits["error"]["message"]
    assert "stopped after turn 1; 1 later turn(s) not played" in exits["notes"]
    run = server.client().beta.threads.runs.retrieve(
        exits["turns"][0]["run_id"], thread_id=exits["thread_id"]
    )
    assert run.status == "cancelled"
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "1")


HANGS = """\
    kind: Scenario
    name: hangs
    assistant: quiz-generator
    handlers: [handlers/hanging.py]
    turns:
      - user: Use display_quiz to quiz me on triangles.
    """

HANGING = """\
    import os
    import threading
    from pathlib import Path

    from orchestrator import handler


    @handler("display_quiz")
    def display_quiz(title, questions):
        Path(os.environ["HANDLER_STARTED"]).write_text("started", encoding="utf-8")
        threading.Event().wait()  # until the process ends
    """

PASSES = """\
    kind: Scenario
    name: passes
    assistant: quiz-generator
    handlers: [handlers/quiz.py]
    turns:
      - user: hello
    """


def test_ctrl_c_exits_130_with_the_reports_written(server, tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        new_namespace(),
        {"a-passes.yaml": PASSES, "b-hangs.yaml": HANGS},
        examples=False,
        handlers={"hanging.py": HANGING},
    )
    apply_assistants(server.client(), root, ["quiz-generator"])
    report, junit, started = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "started"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ORCHESTRATOR_"))}
    env["HANDLER_STARTED"] = str(started)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "test",
            "-C",
            str(root),
            "--base-url",
            server.base_url,
            "--api-key",
            API_KEY,
            "--keep-threads",
            "--allow-drift",  # the assistant was made with the SDK (apply_assistants)
            "--json",
            str(report),
            "--junit",
            str(junit),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=interruptible,
        text=True,
    )
    try:
        wait_for(started.exists, timeout=120)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["interrupted"] is True and data["summary"]["exit_code"] == 130
    by_name = {s["name"]: s for s in data["scenarios"]}
    assert by_name["passes"]["outcome"] == "passed"
    hangs = by_name["hangs"]
    assert hangs["outcome"] == "error" and hangs["error"]["kind"] == "interrupted"
    assert [e["kind"] for e in data["errors"]] == ["interrupted"]
    assert data["errors"][0]["message"] == (
        "interrupted (Ctrl-C): the runs in progress were cancelled; "
        "2 of 2 scenario run(s) had started"
    )
    assert "ERROR interrupted (Ctrl-C): the runs in progress were cancelled" in out
    run = server.client().beta.threads.runs.retrieve(
        hangs["turns"][0]["run_id"], thread_id=hangs["thread_id"]
    )
    assert run.status == "cancelled"  # nothing left waiting on the server
    suite = ET.parse(junit).getroot()
    # The interrupted scenario and the run's own "interrupted" error.
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "2")
