"""Expectations and argument matchers: pure components, checked on hand-made turn records.

(The end-to-end behaviour against a real server is in test_scenarios_*.py.)
"""

from __future__ import annotations

import pytest

from orchestrator.scenarios.expectations import ExpectationError, TurnExpectation
from orchestrator.scenarios.matchers import match, match_arguments
from orchestrator.scenarios.observed import (
    CitationRecord,
    StepRecord,
    ToolCallRecord,
    TurnRecord,
)


def call(name: str, args: dict | None = None, raw: str | None = None) -> ToolCallRecord:
    import json

    return ToolCallRecord(
        id=f"call_{name}",
        type="function",
        name=name,
        raw_arguments=raw if raw is not None else json.dumps(args or {}),
        arguments=args if raw is None else None,
    )


def turn(
    calls: list[ToolCallRecord] = (),  # type: ignore[assignment]
    reply: str = "",
    status: str = "completed",
    extra_steps: list[StepRecord] = (),  # type: ignore[assignment]
    citations: list[CitationRecord] = (),  # type: ignore[assignment]
) -> TurnRecord:
    steps = []
    if calls:
        steps.append(
            StepRecord(id="step_1", type="tool_calls", status="completed", tool_calls=list(calls))
        )
    steps += list(extra_steps)
    if reply:
        steps.append(
            StepRecord(id="step_2", type="message_creation", status="completed", message_id="m")
        )
    return TurnRecord(
        index=0,
        user="hi",
        status=status,
        steps=steps,
        replies=[reply] if reply else [],
        citations=list(citations),
    )


def check(expect: dict, record: TurnRecord) -> list[str]:
    return [f.render() for f in TurnExpectation.parse(expect).check(record)]


# --- matchers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        (1, 1.0, True),
        (True, 1, False),
        ("a", "a", True),
        ({"equals": {"a": 1}}, {"a": 1}, True),
        ({"equals": {"a": 1}}, {"a": 1, "b": 2}, False),  # equals is not a subset
        ({"a": 1}, {"a": 1, "b": 2}, True),  # plain mappings are subsets
        ({"a": {"b": {"matches": "^x"}}}, {"a": {"b": "xyz"}}, True),
        ({"matches": "^[A-Z]"}, "hello", False),
        ({"matches": "3"}, [1, 2, 3], True),  # non-strings match on their JSON
        ({"contains": "lo w"}, "hello world", True),
        ({"contains": "b"}, ["a", "b"], True),
        (
            {"contains": {"question_type": "MULTIPLE_CHOICE"}},
            [{"question_type": "MULTIPLE_CHOICE", "x": 1}],
            True,
        ),
        ({"contains": "c"}, ["a", "b"], False),
        ({"contains": "k"}, {"k": 1}, True),
        ({"any": True}, None, True),
        ([1, {"any": True}], [1, "x"], True),
        ([1, 2], [1, 2, 3], False),
    ],
)
def test_match(expected, actual, ok) -> None:
    assert (match(expected, actual) is None) is ok


def test_missing_argument_is_named() -> None:
    reason = match_arguments({"title": {"any": True}}, {"questions": []})
    assert reason == "title is missing (expected any value)"
    reason = match_arguments({"q": {"n": 2}}, {"q": {"n": 3}})
    assert reason == "q.n is 3, expected 2"


# --- status -------------------------------------------------------------------------


def test_status_defaults_to_completed_and_names_the_error() -> None:
    failed = turn(status="failed")
    failed.last_error = {"code": "server_error", "message": "boom"}
    msgs = check({}, failed)
    assert msgs == ["status: expected completed\n    actual: failed (server_error: boom)"]
    assert check({"status": "failed"}, failed) == []


# --- tool calls -------------------------------------------------------------------


QUIZ = call("display_quiz", {"title": "Pythagoras", "questions": [{"question_text": "a?"}]})
LOOKUP = call("lookup", {"q": "x"})


def test_list_form_matches_in_any_order_with_others_allowed() -> None:
    record = turn([LOOKUP, QUIZ])
    assert (
        check({"tool_calls": [{"display_quiz": {"title": {"matches": ".+"}}}, "lookup"]}, record)
        == []
    )


def test_list_form_reports_the_closest_call() -> None:
    record = turn([QUIZ])
    (msg,) = check({"tool_calls": [{"display_quiz": {"title": "Algebra"}}]}, record)
    assert 'display_quiz(title "Algebra")' in msg
    assert 'display_quiz was called, but title is "Pythagoras", expected "Algebra"' in msg


def test_missing_call() -> None:
    (msg,) = check({"tool_calls": ["lookup"]}, turn([QUIZ]))
    assert "lookup was not called" in msg and "display_quiz(" in msg


def test_exact_order() -> None:
    assert (
        check(
            {"tool_calls": {"calls": ["lookup", "display_quiz"], "order": "exact"}},
            turn([LOOKUP, QUIZ]),
        )
        == []
    )
    msgs = check(
        {"tool_calls": {"calls": ["display_quiz", "lookup"], "order": "exact"}},
        turn([LOOKUP, QUIZ]),
    )
    assert msgs[0].startswith("tool_calls[0]") and "called lookup, not display_quiz" in msgs[0]
    assert msgs[1].startswith("tool_calls[1]")
    (msg,) = check({"tool_calls": {"calls": ["lookup"], "order": "exact"}}, turn([LOOKUP, QUIZ]))
    assert "2 call(s)" in msg


def test_in_order_allows_calls_between() -> None:
    other = call("other", {})
    record = turn([LOOKUP, other, QUIZ])
    assert (
        check({"tool_calls": {"calls": ["lookup", "display_quiz"], "order": "in_order"}}, record)
        == []
    )
    assert check({"tool_calls": {"calls": ["display_quiz", "lookup"], "order": "in_order"}}, record)


def test_any_order_needs_distinct_calls() -> None:
    record = turn([QUIZ])
    msgs = check(
        {"tool_calls": {"calls": ["display_quiz", "display_quiz"], "order": "any"}}, record
    )
    assert msgs and "not enough distinct calls" in msgs[0]


def test_not_and_count() -> None:
    record = turn([QUIZ, call("display_quiz", {"title": "B"})])
    (msg,) = check({"tool_calls": {"not": [{"display_quiz": {"title": "B"}}]}}, record)
    assert msg.startswith("tool_calls.not") and '"title": "B"' in msg
    assert check({"tool_calls": {"not": ["lookup"], "count": {"display_quiz": 2}}}, record) == []
    (msg,) = check({"tool_calls": {"count": {"display_quiz": 1}}}, record)
    assert "tool_calls.count.display_quiz: expected 1 call(s) of display_quiz" in msg


def test_arguments_that_are_not_json() -> None:
    record = turn([call("display_quiz", raw="{not json")])
    (msg,) = check({"tool_calls": [{"display_quiz": {"title": {"any": True}}}]}, record)
    assert "not JSON" in msg


# --- reply, citations, steps --------------------------------------------------------


def test_reply_checks() -> None:
    record = turn(reply="x = 1. Great job on the feedback!")
    assert (
        check(
            {
                "reply": {
                    "contains": ["x = 1", "feedback"],
                    "not_contains": "Traceback",
                    "matches": r"x\s*=\s*1",
                }
            },
            record,
        )
        == []
    )
    msgs = check(
        {
            "reply": {
                "contains": "피드백",
                "contains_any": ["a1", "b2"],
                "not_contains": ["Great"],
                "matches": "^y",
            }
        },
        record,
    )
    assert [m.split(":")[0] for m in msgs] == [
        "reply.contains",
        "reply.contains_any",
        "reply.not_contains",
        "reply.matches",
    ]
    assert all('actual: "x = 1. Great job on the feedback!"' in m for m in msgs)
    assert check({"reply": "feedback"}, record) == []


def test_reply_json_schema() -> None:
    schema = {
        "type": "object",
        "required": ["answer"],
        "properties": {"answer": {"type": "integer"}},
    }
    assert check({"reply": {"json_schema": schema}}, turn(reply='{"answer": 1}')) == []
    assert (
        check({"reply": {"json_schema": schema}}, turn(reply='Here:\n```json\n{"answer": 2}\n```'))
        == []
    )
    (msg,) = check({"reply": {"json_schema": schema}}, turn(reply='{"answer": "one"}'))
    assert "answer: 'one' is not of type 'integer'" in msg
    (msg,) = check({"reply": {"json_schema": schema}}, turn(reply="no json here"))
    assert "expected a JSON reply" in msg


def test_citations() -> None:
    cite = CitationRecord(
        text="【0:0†geometry-notes.md】", file_id="file-1", filename="geometry-notes.md"
    )
    record = turn(reply="c² = a² + b²【0:0†geometry-notes.md】", citations=[cite])
    assert check({"citations": {"present": True, "file": "geometry-notes.md"}}, record) == []
    (msg,) = check({"citations": {"file": ["algebra-notes-ko.md"]}}, record)
    assert "a citation of algebra-notes-ko.md" in msg and "geometry-notes.md" in msg
    (msg,) = check({"citations": {"present": True}}, turn(reply="no sources"))
    assert "actual: no citations" in msg


def test_steps() -> None:
    code = ToolCallRecord(id="c", type="code_interpreter", name="code_interpreter", code="print(1)")
    record = turn(
        reply="1",
        extra_steps=[StepRecord(id="s", type="tool_calls", status="completed", tool_calls=[code])],
    )
    assert (
        check({"steps": {"code_interpreter": True, "file_search": False, "count": 2}}, record) == []
    )
    msgs = check({"steps": {"code_interpreter": False, "file_search": True, "count": 1}}, record)
    assert [m.split(":")[0] for m in msgs] == [
        "steps.code_interpreter",
        "steps.file_search",
        "steps.count",
    ]
    assert "tool_calls(code_interpreter), message_creation" in msgs[0]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"stauts": "completed"}, "unknown field(s) stauts"),
        ({"status": "done"}, "done is not a run status"),
        ({"tool_calls": {"order": "sorted"}}, "tool_calls.order: expected exact, in_order or any"),
        ({"tool_calls": [{"a": 1, "b": 2}]}, "tool_calls[0]: expected a function name"),
        ({"reply": {"matches": "("}}, "not a valid regular expression"),
        ({"reply": {"json_schema": {"type": 5}}}, "not a valid JSON Schema"),
    ],
)
def test_bad_expectations_are_explained(raw: dict, message: str) -> None:
    with pytest.raises(ExpectationError, match=None) as info:
        TurnExpectation.parse(raw)
    assert message in str(info.value)
