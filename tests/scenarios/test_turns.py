"""Per-turn inputs reach the run: attachments (uploaded once, given to the code
interpreter), ``tool_choice`` and ``additional_instructions``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import API_KEY
from tests.support.scenarios import (
    apply_assistants,
    make_project,
    new_namespace,
    run_test_command,
)

SCENARIO = """\
    kind: Scenario
    name: turn options
    assistant: math-tutor-code
    turns:
      - user: |
          How many rows does the attached file have?

          ```python
          print("rows:", len(open("extra.csv").read().splitlines()))
          ```
        attachments:
          - path: data/extra.csv
        additional_instructions: Answer like a pirate.
        expect:
          steps: {code_interpreter: true}
          reply: {contains: "rows: 3"}
      - user: |
          And again, same file.

          ```python
          print("again:", len(open("extra.csv").read().splitlines()))
          ```
        attachments: [data/extra.csv]
        expect:
          reply: {contains: "again: 3"}
    """

FORCED = """\
    kind: Scenario
    name: forced tool
    assistant: quiz-generator
    handlers: [handlers/quiz.py]
    turns:
      - user: Surprise me.
        tool_choice: {type: function, function: {name: display_quiz}}
        expect:
          tool_calls: {calls: [display_quiz], order: exact}
    """


def test_attachments_and_run_overrides(server, tmp_path: Path) -> None:
    root = make_project(
        tmp_path, new_namespace(), {"turns.yaml": SCENARIO, "forced.yaml": FORCED}, examples=False
    )
    (root / "scenarios" / "data").mkdir()
    (root / "scenarios" / "data" / "extra.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    apply_assistants(server.client(), root, ["math-tutor-code", "quiz-generator"])
    report = tmp_path / "r.json"
    res = run_test_command(
        root, "--keep-threads", "--json", str(report), base_url=server.base_url, api_key=API_KEY
    )
    assert res.exit_code == 0, res.output
    data = {s["name"]: s for s in json.loads(report.read_text(encoding="utf-8"))["scenarios"]}
    turns = data["turn options"]
    client = server.client()
    first = client.beta.threads.runs.retrieve(
        turns["turns"][0]["run_id"], thread_id=turns["thread_id"]
    )
    assert first.instructions.endswith("Answer like a pirate.")
    second = client.beta.threads.runs.retrieve(
        turns["turns"][1]["run_id"], thread_id=turns["thread_id"]
    )
    assert "pirate" not in second.instructions
    # The attachment is on the user's message; the same content was uploaded once.
    msgs = client.beta.threads.messages.list(turns["thread_id"], order="asc").data
    user_msgs = [m for m in msgs if m.role == "user"]
    ids = {a.file_id for m in user_msgs for a in m.attachments or []}
    assert len(user_msgs) == 2 and len(ids) == 1
    forced = data["forced tool"]
    run = client.beta.threads.runs.retrieve(
        forced["turns"][0]["run_id"], thread_id=forced["thread_id"]
    )
    assert run.tool_choice.type == "function" and run.tool_choice.function.name == "display_quiz"
