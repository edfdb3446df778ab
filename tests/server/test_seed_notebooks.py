"""Each seed notebook's own code, unchanged, run cell by cell against ``orchestrator serve``.

The seeds (``shared/seeds/``, text exports of Korean Assistants-API notebooks) are
read by tests/support/notebooks.py and their cells run in order in a fresh Python
process, as a notebook kernel runs them, with nothing changed: the server comes in
through ``OPENAI_BASE_URL``/``OPENAI_API_KEY``, which ``OpenAI()`` reads. The server
runs the default local model (no script queued: what it does is its documented
policy, e.g. the ``display_quiz`` call from the seed's own Korean prompt). The papers
the notebooks upload are stood for by one-page PDFs made here, under the file names
the notebooks open.

Every cell runs, except those in a plan's ``not_run`` (each gets a skipped test that
names it and says why); a cell in ``fails`` must fail with that error, for the reason
given: each is one the notebook's own code would hit against OpenAI's API today too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import openai
import pytest

from tests.support import API_KEY
from tests.support.notebooks import SEEDS, Cell, CellResult, read_cells, run_notebook
from tests.support.seed_code import tiny_pdf

PAPER = tiny_pdf(
    [
        "Language Models are Unsupervised Multitask Learners.",
        "Language modeling is framed as unsupervised distribution estimation.",
        "The model estimates the conditional probability p(output | input, task).",
    ]
)
BRIEF = tiny_pdf(["SPRI AI Brief, December 2023.", "AI policy and industry trends."])

V1 = (
    "Assistants API v1 code (openai 1.12, as the notebook's own `pip show` printed): the "
    "SDK today has no file_ids parameter and raises before sending anything, as it does "
    "against OpenAI (v2 attaches files through tool_resources)"
)


@dataclass
class Plan:
    seed: str
    title: str
    files: dict[str, bytes] = field(default_factory=dict)
    not_run: dict[int, str] = field(default_factory=dict)
    fails: dict[int, tuple[str, str]] = field(default_factory=dict)


PLANS = {
    "000": Plan(
        "000",
        "math tutor: threads, code interpreter, file search, display_quiz",
        # The notebook opens a Windows path; on Linux that is one file name in the cwd.
        files={r".\data\language_models_are_unsupervised_multitask_learners.pdf": PAPER},
    ),
    "001": Plan(
        "001",
        "Assistants API overview (v1 era): tools, retrieval, quiz generator",
        files={
            "data/language_models_are_unsupervised_multitask_learners.pdf": PAPER,
            "data/SPRI_AI_Brief_2023년12월호.pdf": BRIEF,
        },
        not_run={
            1: "`!pip install --upgrade openai -q` downloads from PyPI and would replace the "
            "openai package of the interpreter that runs the tests",
        },
        fails={
            32: ("TypeError", V1),
            38: (
                "KeyError: 'choices'",
                "the notebook's own bug: cell 37 redefines display_quiz to read "
                "q['choices'] of every question, and the sample quiz's FREE_RESPONSE "
                "question has none (no request is made)",
            ),
            40: ("TypeError", V1),
            43: (
                "AttributeError",
                "follows from cell 40: the Quiz Generator was never created, so the run "
                "used the Math Tutor, which has no function to call, and completed "
                "(run.required_action is None, as OpenAI returns it)",
            ),
            45: ("NameError: name 'arguments'", "follows from cell 43"),
            46: ("NameError: name 'tool_call'", "follows from cell 43"),
            51: ("TypeError", V1),
        },
    ),
    "002": Plan("002", "assistant, thread, message, run, messages, follow-up"),
    "003": Plan(
        "003",
        "exercise template: code cells emptied to their comments",
        fails={
            4: (
                "IndentationError",
                "the template keeps the EventHandler's method headers and removes their "
                "bodies, so the cell does not compile (it makes no request)",
            ),
        },
    ),
    "004": Plan("004", "markdown tutorial with fenced python blocks: assistant and thread"),
}


def _seed_path(seed: str) -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"the seed notebooks are not here: {SEEDS} (shared/ beside the repository)")
    [path] = SEEDS.glob(f"{seed}_*.txt")
    return path


def _run(plan: Plan, server, tmp_path: Path) -> tuple[list[Cell], dict[int, CellResult]]:  # type: ignore[no-untyped-def]
    cells = read_cells(_seed_path(plan.seed))
    for name, data in plan.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    results = run_notebook(
        cells,
        base_url=server.base_url,
        api_key=API_KEY,
        workdir=tmp_path,
        skip=set(plan.not_run),
    )
    by_number = {r.number: r for r in results}
    for r in results:
        if r.number in plan.not_run:
            assert r.status == "not run"
        elif r.number in plan.fails:
            error, why = plan.fails[r.number]
            assert r.status == "error" and (r.error or "").startswith(error), (r, why)
        else:
            assert r.status == "ok", f"cell {r.number} failed: {r.error}\n{r.output}"
    return cells, by_number


def test_every_seed_notebook_has_a_test() -> None:
    seeds = sorted(p.name[:3] for p in SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not seeds:
        pytest.skip(f"the seed notebooks are not here: {SEEDS}")
    assert seeds == sorted(PLANS)
    for seed, plan in PLANS.items():
        numbers = {c.number for c in read_cells(_seed_path(seed))}
        assert set(plan.not_run) | set(plan.fails) <= numbers, seed


@pytest.mark.parametrize(
    ("seed", "number"),
    [(p.seed, n) for p in PLANS.values() for n in p.not_run],
    ids=[f"{p.seed}-cell{n}" for p in PLANS.values() for n in p.not_run],
)
def test_seed_cell_that_cannot_run_here(seed: str, number: int) -> None:
    [cell] = [c for c in read_cells(_seed_path(seed)) if c.number == number]
    pytest.skip(f"seed {seed} {cell.label}: {PLANS[seed].not_run[number]}")


def test_seed_000_math_tutor(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, out = _run(PLANS["000"], server, tmp_path)
    # Three threads at once, then a follow-up on the third.
    blocks = out[4].output.split("# Messages\n")[1:]
    assert len(blocks) == 4
    assert blocks[3].startswith("user: 나는 수학을 싫어해. 어떻게 하면 좋을까?\nassistant: ")
    assert "\nuser: 고마워\nassistant: " in blocks[3]
    # Run steps: the message creation's details, printed as the notebook prints them.
    assert "'type': 'message_creation'" in out[9].output
    # The paper went into a vector store and the search cites it.
    assert out[10].output == (
        "completed\nFileCounts(cancelled=0, completed=1, failed=0, in_progress=0, total=1)\n"
    )
    answer = out[12].output.split("assistant: ", 1)[1]
    assert "Language Models are Unsupervised Multitask Learners" in answer
    assert "【0:0†" in answer
    # The quiz: the seed's own Korean prompt calls display_quiz, the notebook runs it
    # and submits the answers, and the run completes on them.
    assert out[17].output == "'requires_action'\n"
    assert out[19].output.startswith("Function Name: display_quiz\nFunction Arguments:\n")
    assert "Quiz: " in out[20].output and "Responses: [" in out[20].output
    assert "'status': 'queued'" in out[21].output
    assert "\nassistant: display_quiz returned: [" in out[22].output


def test_seed_001_assistants_overview(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, out = _run(PLANS["001"], server, tmp_path)
    assert out[2].output == f"Version: {openai.__version__}\n"
    assert "'object': 'assistant'" in out[6].output
    assert "'status': 'completed'" in out[11].output
    assert "Could you explain this to me in Korean?" not in out[13].output  # after it only
    assert "'role': 'assistant'" in out[13].output
    assert out[16].output.count("# 메시지들\n") == 4 and "user: Thank you!" in out[16].output
    assert out[24].output.startswith("[USER]\nI need to solve `1 + 20`. Can you help me?\n")
    assert "[ASSISTANT]\n" in out[24].output
    assert "'tools': [{'type': 'code_interpreter'}]" in out[26].output
    assert "'type': 'message_creation'" in out[29].output
    assert out[42].output == "completed\n"


def test_seed_002_assistant_thread_run_messages(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, out = _run(PLANS["002"], server, tmp_path)
    assert out[4].output.startswith("Assistant(id='asst_")
    assert "'status': 'queued'" in out[8].output
    assert "'status': 'completed'" in out[10].output
    # Newest first: the reply, then the question.
    listed = out[11].output
    assert listed.index("'role': 'assistant'") < listed.index("'role': 'user'")
    follow_up = out[12].output
    assert "'role': 'assistant'" in follow_up and "'role': 'user'" not in follow_up
    assert "'has_more': False" in follow_up


def test_seed_003_exercise_template(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cells, out = _run(PLANS["003"], server, tmp_path)
    # Apart from the broken cell, the template's cells are comments only: this
    # notebook makes no request at all (which the test states rather than hides).
    for cell in cells:
        if cell.number not in PLANS["003"].fails:
            assert ast.parse(cell.code).body == [], cell.label
            assert out[cell.number].output == ""


def test_seed_004_markdown_code_blocks(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, out = _run(PLANS["004"], server, tmp_path)
    assert out[1].output.startswith("Assistant(id='asst_")
    assert "tools=[CodeInterpreterTool(type='code_interpreter')]" in out[1].output
    assert out[2].output.startswith("Thread(id='thread_")
