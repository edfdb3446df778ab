"""The seed notebooks' (``../shared/seeds``) code that makes server objects, as a helper.

:func:`run_seed_notebooks` makes the assistants, files and vector stores the tutorials
make, with the same SDK calls in the same order (their threads and runs leave nothing
to export, and are played in ``tests/server/test_seed_flows.py``). Run twice, it leaves
what a team that ran its notebooks twice has: several "Math Tutor"s, the paper and the
CSV uploaded twice, two "machine learning" vector stores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai

from tests.support.tool_defs import QUIZ_TOOL

MATH_INSTRUCTIONS = "너는 개인 수학 교사야. 질문에 한 문장 이하로 짧게 답해줘"
PAPER_NAME = "language_models_are_unsupervised_multitask_learners.pdf"
STUDENTS_CSV = "이름,나이,성적\n김철수,20,A\n이영희,22,B\n박민수,21,C\n".encode()


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with these lines of text (what the tutorial's paper stands for)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 11 Tf 72 720 Td 14 TL " + " ".join(f"({esc(x)}) '" for x in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def run_seed_notebooks(client: openai.OpenAI, workdir: Path) -> list[Any]:
    """Make what the seed notebooks make; return the assistants, in creation order."""
    made: list[Any] = []
    # 000: the Math Tutor, given the code interpreter, a paper to search, then the quiz.
    assistant = client.beta.assistants.create(
        name="Math Tutor", instructions=MATH_INSTRUCTIONS, model="gpt-4o"
    )
    client.beta.assistants.update(assistant.id, tools=[{"type": "code_interpreter"}])
    paper = workdir / PAPER_NAME
    paper.write_bytes(
        tiny_pdf(
            [
                "Language Models are Unsupervised Multitask Learners.",
                "Language modeling is framed as unsupervised distribution estimation.",
            ]
        )
    )
    vector_store = client.vector_stores.create(name="machine learning")
    with open(paper, "rb") as stream:
        client.vector_stores.file_batches.upload_and_poll(
            vector_store_id=vector_store.id, files=[stream]
        )
    client.beta.assistants.update(
        assistant.id,
        tools=[{"type": "code_interpreter"}, {"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vector_store.id]}},
    )
    made.append(
        client.beta.assistants.update(
            assistant.id,
            tools=[{"type": "code_interpreter"}, {"type": "file_search"}, QUIZ_TOOL],
        )
    )
    # 002: the Math Tutor again, plain.
    made.append(
        client.beta.assistants.create(
            name="Math Tutor", instructions=MATH_INSTRUCTIONS, model="gpt-4o"
        )
    )
    # 003: streaming over a CSV with the code interpreter.
    file = client.files.create(file=("mydata.csv", STUDENTS_CSV), purpose="assistants")
    made.append(
        client.beta.assistants.create(
            name="Student Data Assistant",
            instructions="You answer questions about the students in mydata.csv.",
            model="gpt-4o",
            tools=[{"type": "code_interpreter"}],
            tool_resources={"code_interpreter": {"file_ids": [file.id]}},
        )
    )
    # 004: the Math Tutor that writes and runs code.
    made.append(
        client.beta.assistants.create(
            name="Math Tutor",
            instructions="You are a personal math tutor. Write and run code to answer math "
            "questions.",
            tools=[{"type": "code_interpreter"}],
            model="gpt-4-turbo",
        )
    )
    # A cell that left out name= (the report that led to issue 14 had one): nameless.
    made.append(
        client.beta.assistants.create(
            instructions="You answer questions about the students in mydata.csv.",
            model="gpt-4o",
            tools=[{"type": "code_interpreter"}],
            tool_resources={"code_interpreter": {"file_ids": [file.id]}},
        )
    )
    return made
