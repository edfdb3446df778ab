"""`agent: true`: validate says, per assistant and tool, what a Managed Agent cannot hold."""

from __future__ import annotations

from pathlib import Path

from tests.support.project_files import (
    DISPLAY_QUIZ,
    GOOD_ASSISTANT,
    diagnostic_at,
    errors,
    find,
    listing,
    load,
)

QUIZ_AGENT = """\
kind: Assistant
key: quiz
model: gpt-4o
agent: true
tools:
  - function: functions/display_quiz.json
"""


def test_an_agent_with_only_functions_is_clean(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/quiz.yaml": QUIZ_AGENT,
            "assistants/functions/display_quiz.json": DISPLAY_QUIZ,
        },
    )
    assert p.diagnostics == []
    (spec,) = p.assistants
    assert spec.agent and not spec.agent_from_defaults


def test_agent_true_with_tools_an_agent_cannot_hold_is_an_error_naming_each(
    tmp_path: Path,
) -> None:
    text = GOOD_ASSISTANT.replace("model: gpt-4o\n", "model: gpt-4o\nagent: true\n")
    text += "response_format: {type: json_object}\n"
    p = load(
        tmp_path,
        {
            "assistants/quiz.yaml": text,
            "assistants/functions/display_quiz.json": DISPLAY_QUIZ,
            "assistants/docs/notes.md": "# Notes\n",
        },
    )
    d = find(p, "assistants/quiz.yaml", 4, "agent: true, but a Managed Agent cannot hold")
    assert "tools[0] file_search: Managed Agents have no file search" in d.message
    assert "response_format json_object" in d.message and "tools[1]" not in d.message
    assert len(errors(p)) == 1


def test_a_strict_function_cannot_be_an_agents_tool(tmp_path: Path) -> None:
    strict = DISPLAY_QUIZ.replace('"name"', '"strict": true, "name"', 1)
    p = load(
        tmp_path,
        {"assistants/quiz.yaml": QUIZ_AGENT, "assistants/functions/display_quiz.json": strict},
    )
    assert diagnostic_at(
        p, "assistants/quiz.yaml", 4, "tools[0] function display_quiz: strict: true"
    ), listing(p)


def test_the_project_default_leaves_the_others_profile_only_with_a_warning(
    tmp_path: Path,
) -> None:
    p = load(
        tmp_path,
        {
            "orchestrator.yaml": "defaults:\n  agent: true\n",
            "assistants/quiz.yaml": GOOD_ASSISTANT,
            "assistants/plain.yaml": "kind: Assistant\nmodel: gpt-4o\n",
            "assistants/functions/display_quiz.json": DISPLAY_QUIZ,
            "assistants/docs/notes.md": "# Notes\n",
        },
    )
    assert errors(p) == []
    d = find(p, "assistants/quiz.yaml", 1, "not published as a Managed Agent (orchestrator.yaml")
    assert d.severity == "warning" and "tools[0] file_search" in d.message
    by_key = {a.key: a for a in p.assistants}
    assert by_key["plain"].agent and by_key["plain"].agent_from_defaults
