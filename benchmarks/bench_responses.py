"""The Responses API next to the Assistants API on one server (printed, not asserted).

    .venv/bin/python benchmarks/bench_responses.py [--rounds 40]

One ``orchestrator serve`` process (SQLite in a temp dir, the local model); the same
turn on both surfaces, through the real ``openai`` SDK over HTTP, median and p95:

1. A plain local-model turn end to end: ``responses.create`` vs a thread message plus
   ``runs.create_and_poll``; streamed: ``responses.stream`` vs ``runs.stream``, to the
   last event.
2. The ``display_quiz`` function round trip: the call, then its output answered
   (``previous_response_id`` + ``function_call_output`` vs ``submit_tool_outputs``).

Targets (issue 11): Responses at most 1.2x the Assistants path; a streamed response
under 50 ms.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import DISPLAY_QUIZ, machine, ratio, row, server, stats, time_it

QUIZ_RESPONSES = {"type": "function", **DISPLAY_QUIZ}
QUIZ_ASSISTANTS = {"type": "function", "function": DISPLAY_QUIZ}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    print(f"bench_responses: {machine()}, {args.rounds} rounds each")
    with tempfile.TemporaryDirectory() as tmp, server(db_path=Path(tmp) / "db.sqlite3") as srv:
        c = srv.client()
        plain = c.beta.assistants.create(model="gpt-4o")
        quiz = c.beta.assistants.create(model="gpt-4o", tools=[QUIZ_ASSISTANTS])

        def assistants_turn() -> None:
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
            run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=plain.id)
            assert run.status == "completed"

        def responses_turn() -> None:
            assert c.responses.create(model="local", input="hello").status == "completed"

        def assistants_streamed() -> None:
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
            with c.beta.threads.runs.stream(thread_id=thread.id, assistant_id=plain.id) as s:
                s.until_done()

        def responses_streamed() -> None:
            with c.responses.stream(model="local", input="hello") as s:
                assert s.get_final_response().status == "completed"

        def assistants_round_trip() -> None:
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "display_quiz"}])
            run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=quiz.id)
            call = run.required_action.submit_tool_outputs.tool_calls[0]
            run = c.beta.threads.runs.submit_tool_outputs_and_poll(
                run_id=run.id,
                thread_id=thread.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "ok"}],
            )
            assert run.status == "completed"

        def responses_round_trip() -> None:
            asked = c.responses.create(model="local", input="display_quiz", tools=[QUIZ_RESPONSES])
            call = asked.output[0]
            answered = c.responses.create(
                model="local",
                previous_response_id=asked.id,
                tools=[QUIZ_RESPONSES],
                input=[{"type": "function_call_output", "call_id": call.call_id, "output": "ok"}],
            )
            assert answered.status == "completed"

        pairs = [
            ("1. plain turn", assistants_turn, responses_turn),
            ("   streamed", assistants_streamed, responses_streamed),
            ("2. function round trip", assistants_round_trip, responses_round_trip),
        ]
        for label, on_assistants, on_responses in pairs:
            a = time_it(args.rounds, on_assistants)
            r = time_it(args.rounds, on_responses)
            print(label)
            row("Assistants", stats(a))
            row("Responses", stats(r), f"{ratio(r, a)} the Assistants path")


if __name__ == "__main__":
    main()
