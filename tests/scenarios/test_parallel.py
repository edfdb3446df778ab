"""``-j N`` runs scenarios concurrently (never more than N at once, turns in order within
one), ``--repeat N`` gives a pass-rate summary, and the CLI's errors exit with 2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.support import API_KEY
from tests.support.scenarios import (
    apply_assistants,
    make_project,
    new_namespace,
    run_test_command,
)

HANDLERS = {
    "probe.py": """\
        import json
        import threading
        import time

        from orchestrator import handler

        _lock = threading.Lock()
        _calls = {"n": 0}


        @handler("display_quiz")
        def display_quiz(title, questions, context):
            # Log entry and exit so the test can count how many scenarios overlapped.
            log = context.vars["log"]
            with _lock, open(log, "a") as f:
                f.write(json.dumps(["in", context.scenario, context.turn]) + "\\n")
            time.sleep(0.05)
            with _lock, open(log, "a") as f:
                f.write(json.dumps(["out", context.scenario, context.turn]) + "\\n")
            return ["a"] * len(questions)
        """,
    "flaky.py": """\
        from orchestrator import handler

        _calls = {"n": 0}


        @handler("display_quiz")
        def display_quiz(title, questions):
            _calls["n"] += 1
            if _calls["n"] == 2:
                raise RuntimeError("the second attempt breaks")
            return "ok"
        """,
}


def many(n: int, log: Path) -> dict[str, str]:
    out = {}
    for i in range(n):
        out[f"s{i:02d}.yaml"] = f"""\
            kind: Scenario
            name: parallel {i:02d}
            assistant: quiz-generator
            handlers: [handlers/probe.py]
            vars: {{log: "{log}"}}
            turns:
              - user: Use display_quiz for quiz number {i}.
                expect:
                  tool_calls: [display_quiz]
              - user: Thanks, that was round {i}!
                expect:
                  reply: {{contains: "Thanks, that was round {i}!"}}
            """
    return out


@pytest.fixture(scope="module")
def project(server, tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("par")
    log = tmp / "calls.log"
    scenarios = many(50, log)
    scenarios["flaky.yaml"] = """\
        kind: Scenario
        name: flaky
        assistant: quiz-generator
        handlers: [handlers/flaky.py]
        tags: [flaky]
        turns:
          - user: Use display_quiz once more.
        """
    root = make_project(tmp, new_namespace(), scenarios, examples=False, handlers=HANDLERS)
    apply_assistants(server.client(), root, ["quiz-generator"])
    return root, log


def test_j8_over_50_scenarios(server, project, tmp_path: Path) -> None:
    root, log = project
    report = tmp_path / "r.json"
    res = run_test_command(
        root,
        "-j",
        "8",
        "-k",
        "parallel",
        "--json",
        str(report),
        base_url=server.base_url,
        api_key=API_KEY,
    )
    assert res.exit_code == 0, res.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["summary"]["passed"] == 50 and data["summary"]["total"] == 50
    assert len({s["thread_id"] for s in data["scenarios"]}) == 50  # a fresh thread each
    # Each scenario's turns ran in order; at most 8 scenarios were in a handler at once,
    # and they did overlap.
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(events) == 100
    active, peak = set(), 0
    for kind, name, _turn in events:
        if kind == "in":
            active.add(name)
            peak = max(peak, len(active))
        else:
            active.discard(name)
    assert 1 < peak <= 8
    for s in data["scenarios"]:
        assert [t["index"] for t in s["turns"]] == [0, 1]


def test_repeat_reports_pass_rates(server, project) -> None:
    root, _ = project
    res = run_test_command(
        root, "--repeat", "3", "--tag", "flaky", base_url=server.base_url, api_key=API_KEY
    )
    assert res.exit_code == 1, res.output
    assert "FAIL  flaky [2]" in res.output
    assert "RuntimeError: the second attempt breaks" in res.output
    assert "flaky     2/3       66.7%" in res.output
    assert "3 scenario runs: 2 passed, 1 failed, 0 errors" in res.output


def test_a_scenario_file_that_does_not_load_exits_2(server, tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        new_namespace(),
        {
            "bad.yaml": """\
                kind: Scenario
                name: bad
                assistant: quiz-generator
                turns:
                  - user: hi
                    expect: {stauts: completed}
                """
        },
        examples=False,
    )
    res = run_test_command(root, base_url=server.base_url, api_key=API_KEY)
    assert res.exit_code == 2, res.output
    assert "bad.yaml:6:" in res.output and "stauts" in res.output


def test_unreachable_server_exits_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = make_project(tmp_path, new_namespace(), examples=False)
    (root / "scenarios" / "one.yaml").write_text(
        textwrap.dedent(
            """\
            kind: Scenario
            assistant: math-tutor
            turns:
              - user: hi
            """
        ),
        encoding="utf-8",
    )
    res = run_test_command(root, base_url=f"http://127.0.0.1:{port}/v1", api_key="k")
    assert res.exit_code == 2, res.output
    assert f"cannot reach the server at http://127.0.0.1:{port}/v1" in res.output
    assert "Traceback" not in res.output


def test_no_matching_scenarios_exits_2(server, project) -> None:
    root, _ = project
    res = run_test_command(root, "-k", "no such name", base_url=server.base_url, api_key=API_KEY)
    assert res.exit_code == 2 and "No scenarios to run" in res.output


def test_j4_on_the_embedded_target(project, tmp_path: Path) -> None:
    # Above -j 1 the embedded server runs in a child process of `orchestrator test`; the
    # handlers still run in the runner's process, and `test` syncs the YAML there first.
    root, log = project
    report = tmp_path / "r.json"
    before = len(log.read_text().splitlines()) if log.exists() else 0  # the module's log
    res = run_test_command(root, "-j", "4", "-k", "parallel", "--json", str(report), base_url=None)
    assert res.exit_code == 0, res.output
    assert "embedded" in res.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["summary"]["passed"] == 50 and data["summary"]["total"] == 50
    assert len(log.read_text().splitlines()) - before == 100
