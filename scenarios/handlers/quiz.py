"""Handlers for the quiz scenarios: the student's side of ``display_quiz``.

Like the seed notebook's mock student, it answers "I don't know." to free-response
questions and picks the first option of multiple-choice ones, so the assistant has
answers to give feedback on.
"""

from __future__ import annotations

from typing import Any

from orchestrator import handler


@handler("display_quiz")
def display_quiz(title: str, questions: list[dict[str, Any]]) -> list[str]:
    responses = []
    for question in questions:
        if question.get("question_type") == "MULTIPLE_CHOICE" and question.get("choices"):
            responses.append("a")
        else:
            responses.append("I don't know.")
    return responses
