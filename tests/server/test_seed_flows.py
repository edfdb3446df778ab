"""The seed tutorials' code, unchanged apart from ``base_url``, against our server.

Each test follows one tutorial (``../shared/seeds/``) with the same SDK calls in the
same order. Where the tutorial's output shows what GPT-4o decided to do (write code
for the Fibonacci numbers, search the paper, call ``display_quiz`` twice), that
decision is queued for the local model as a script through the extension endpoint,
as a cassette replay would; everything the client code does and reads is the
tutorial's.
"""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler

from tests.support.runs import script
from tests.support.seed_code import MATH_INSTRUCTIONS, tiny_pdf
from tests.support.tool_defs import QUIZ_TOOL


class Tutorial:
    """The tutorial's helpers (seed 000), bound to one client."""

    def __init__(self, client: openai.OpenAI, assistant_id: str) -> None:
        self.client = client
        self.assistant_id = assistant_id
        self.printed: list[str] = []

    def submit_message(self, assistant_id: str, thread: Any, user_message: str) -> Any:
        self.client.beta.threads.messages.create(
            thread_id=thread.id, role="user", content=user_message
        )
        return self.client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)

    def get_response(self, thread: Any) -> Any:
        return self.client.beta.threads.messages.list(thread_id=thread.id, order="asc")

    def create_thread_and_run(self, user_input: str) -> tuple[Any, Any]:
        thread = self.client.beta.threads.create()
        run = self.submit_message(self.assistant_id, thread, user_input)
        return thread, run

    def pretty_print(self, messages: Any) -> None:
        self.printed.append("# Messages")
        for m in messages:
            self.printed.append(f"{m.role}: {m.content[0].text.value}")

    def wait_on_run(self, run: Any, thread: Any) -> Any:
        while run.status == "queued" or run.status == "in_progress":
            run = self.client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
            time.sleep(0.05)  # the tutorial sleeps 0.5 s; the loop is the same
        return run


@pytest.fixture
def math_tutor(client: openai.OpenAI) -> Tutorial:
    assistant = client.beta.assistants.create(
        name="Math Tutor", instructions=MATH_INSTRUCTIONS, model="gpt-4o"
    )
    return Tutorial(client, assistant.id)


def test_math_tutor_three_concurrent_threads_and_a_follow_up(math_tutor: Tutorial) -> None:
    t = math_tutor
    thread1, run1 = t.create_thread_and_run("방정식 '3x + 11 = 14'를 풀어줘")
    thread2, run2 = t.create_thread_and_run("선형대수에 대해 설명해줘")
    thread3, run3 = t.create_thread_and_run("나는 수학을 싫어해. 어떻게 하면 좋을까?")
    assert {run1.status, run2.status, run3.status} <= {"queued", "in_progress", "completed"}

    for thread, run, question in (
        (thread1, run1, "방정식 '3x + 11 = 14'를 풀어줘"),
        (thread2, run2, "선형대수에 대해 설명해줘"),
        (thread3, run3, "나는 수학을 싫어해. 어떻게 하면 좋을까?"),
    ):
        run = t.wait_on_run(run, thread)
        assert run.status == "completed"
        messages = t.get_response(thread)
        t.pretty_print(messages)
        roles = [m.role for m in messages]
        assert roles == ["user", "assistant"]
        assert messages.data[0].content[0].text.value == question
        assert question in messages.data[1].content[0].text.value

    run4 = t.submit_message(t.assistant_id, thread3, "고마워")
    run4 = t.wait_on_run(run4, thread3)
    assert run4.status == "completed"
    t.pretty_print(t.get_response(thread3))
    assert t.printed[-5:-1] == [
        "# Messages",
        "user: 나는 수학을 싫어해. 어떻게 하면 좋을까?",
        t.printed[-3],
        "user: 고마워",
    ]
    assert t.printed[-1].startswith("assistant: ") and "고마워" in t.printed[-1]


def test_create_and_poll_then_messages_after_the_follow_up(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(
        name="Math Tutor", instructions=MATH_INSTRUCTIONS, model="gpt-4o"
    )
    thread = client.beta.threads.create()
    assert thread.metadata == {} and thread.object == "thread"
    message = client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="방정식 '3x + 11 = 14'를 풀어줘"
    )
    assert message.assistant_id is None and message.attachments == []
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert run.instructions == MATH_INSTRUCTIONS and run.tools == []
    assert run.usage.total_tokens > 0
    messages = client.beta.threads.messages.list(thread_id=thread.id)
    # Newest first, as the tutorial points out.
    assert [m.role for m in messages.data] == ["assistant", "user"]

    message = client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="설명해 주시겠어요?"
    )
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    while run.status in ("queued", "in_progress"):
        run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
        time.sleep(0.05)
    messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc", after=message.id)
    assert len(messages.data) == 1 and not messages.has_more
    assert messages.first_id == messages.last_id == messages.data[0].id
    reply = messages.data[0]
    assert reply.role == "assistant" and reply.run_id == run.id
    assert "설명해 주시겠어요?" in reply.content[0].text.value


def test_code_interpreter_tool_calls_then_message_creation(
    server, client: openai.OpenAI, math_tutor: Tutorial
) -> None:
    t = math_tutor
    assistant = client.beta.assistants.update(t.assistant_id, tools=[{"type": "code_interpreter"}])
    shown = json.loads(assistant.model_dump_json())
    assert shown["tools"] == [{"type": "code_interpreter"}]
    assert shown["instructions"] == MATH_INSTRUCTIONS

    thread = client.beta.threads.create()
    # What GPT-4o did in the tutorial: write and run code, then answer from its output.
    script(
        server,
        thread.id,
        [
            {
                "tool_calls": [
                    {
                        "type": "code_interpreter",
                        "code": "def fibonacci_sequence(n):\n    sequence = [0, 1]\n"
                        "    while len(sequence) < n:\n"
                        "        sequence.append(sequence[-1] + sequence[-2])\n"
                        "    return sequence[:n]\n\nprint(fibonacci_sequence(10))\n",
                    }
                ]
            }
        ],
    )
    run = t.submit_message(
        t.assistant_id, thread, "코드를 사용하여 처음 10개의 피보나치 숫자를 생성해줘"
    )
    run = t.wait_on_run(run, thread)
    assert run.status == "completed"
    t.pretty_print(t.get_response(thread))
    assert "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]" in t.printed[-1]

    run_steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    details = [json.loads(s.step_details.model_dump_json()) for s in run_steps.data]
    assert [d["type"] for d in details] == ["tool_calls", "message_creation"]
    call = details[0]["tool_calls"][0]
    assert call["type"] == "code_interpreter" and call["id"].startswith("call_")
    assert "fibonacci_sequence" in call["code_interpreter"]["input"]
    assert call["code_interpreter"]["outputs"] == [
        {"type": "logs", "logs": "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]\n"}
    ]
    assert details[1]["message_creation"]["message_id"].startswith("msg_")


def test_file_search_over_a_paper_cites_it(
    server, client: openai.OpenAI, math_tutor: Tutorial, tmp_path
) -> None:
    t = math_tutor
    paper = tmp_path / "language_models_are_unsupervised_multitask_learners.pdf"
    paper.write_bytes(
        tiny_pdf(
            [
                "Language Models are Unsupervised Multitask Learners.",
                "Language modeling is framed as unsupervised distribution estimation.",
                "The model estimates the conditional probability p(output | input, task).",
                "Multitask learning is a promising framework for improving general performance.",
            ]
        )
    )
    # Create a vector store
    vector_store = client.vector_stores.create(name="machine learning")
    file_streams = [open(path, "rb") for path in [paper]]  # noqa: SIM115 - the tutorial's code
    file_batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=vector_store.id, files=file_streams
    )
    for f in file_streams:
        f.close()
    assert file_batch.status == "completed"
    assert file_batch.file_counts.completed == 1 and file_batch.file_counts.total == 1

    assistant = client.beta.assistants.update(
        t.assistant_id,
        tools=[{"type": "code_interpreter"}, {"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vector_store.id]}},
    )
    assert assistant.tool_resources.file_search.vector_store_ids == [vector_store.id]

    thread = client.beta.threads.create()
    # GPT-4o searched the paper in English for the Korean question.
    script(
        server,
        thread.id,
        [
            {
                "tool_calls": [
                    {"type": "file_search", "query": "probability language modeling multitask"}
                ]
            }
        ],
    )
    run = t.submit_message(
        t.assistant_id, thread, "이 논문의 배경이 되는 수학 개념은 뭐야? 두 문장으로 설명해줘"
    )
    run = t.wait_on_run(run, thread)
    assert run.status == "completed"
    reply = t.get_response(thread).data[-1]
    text = reply.content[0].text
    citations = [a for a in text.annotations if a.type == "file_citation"]
    assert citations
    files = client.vector_stores.files.list(vector_store_id=vector_store.id).data
    for a in citations:
        assert text.value[a.start_index : a.end_index] == a.text
        assert a.text.startswith("【") and a.text.endswith("】")
        assert a.file_citation.file_id == files[0].id
    assert "probability" in text.value


def test_display_quiz_function_round_trip(
    server, client: openai.OpenAI, math_tutor: Tutorial
) -> None:
    t = math_tutor
    client.beta.assistants.update(
        t.assistant_id,
        # The tutorial's function_json (the example project keeps it, in English).
        tools=[{"type": "code_interpreter"}, QUIZ_TOOL],
    )
    thread = client.beta.threads.create()
    # The tutorial's GPT-4o answered with two display_quiz calls at once.
    questions = [
        {"question_text": "파이의 값은 무엇입니까?", "question_type": "FREE_RESPONSE"},
        {
            "question_text": "다음 중 삼각형의 내각의 합은?",
            "question_type": "MULTIPLE_CHOICE",
            "choices": ["180도", "90도", "360도", "270도"],
        },
    ]
    script(
        server,
        thread.id,
        [
            {
                "tool_calls": [
                    {
                        "name": "display_quiz",
                        "arguments": {"title": "Math Quiz", "questions": questions},
                    },
                    {
                        "name": "display_quiz",
                        "arguments": {"title": "Feedback Quiz", "questions": questions},
                    },
                ]
            }
        ],
    )
    run = t.submit_message(
        t.assistant_id,
        thread,
        "두 가지 질문으로 퀴즈를 만들어줘. 하나는 주관식, 하나는 객관식으로, 그런 다음 답변에 "
        "대한 피드백을 보내줘",
    )
    run = t.wait_on_run(run, thread)
    assert run.status == "requires_action"

    # Extract single tool call
    tool_call = run.required_action.submit_tool_outputs.tool_calls[0]
    name = tool_call.function.name
    arguments = json.loads(tool_call.function.arguments)
    assert name == "display_quiz"
    assert arguments == {"title": "Math Quiz", "questions": questions}

    def display_quiz(title: str, questions: list[dict]) -> list[str]:
        responses = []
        for q in questions:
            if q["question_type"] == "MULTIPLE_CHOICE":
                responses.append("a")
            elif q["question_type"] == "FREE_RESPONSE":
                responses.append("I don't know.")
        return responses

    tool_outputs = []
    for tool_call in run.required_action.submit_tool_outputs.tool_calls:
        name = tool_call.function.name
        arguments = json.loads(tool_call.function.arguments)
        if name == "display_quiz":
            output = json.dumps(display_quiz(arguments["title"], arguments["questions"]))
        else:
            output = json.dumps(f"No handler implemented for function: {name}")
        tool_outputs.append({"tool_call_id": tool_call.id, "output": output})
    assert len(tool_outputs) == 2

    run = client.beta.threads.runs.submit_tool_outputs(
        thread_id=thread.id, run_id=run.id, tool_outputs=tool_outputs
    )
    assert run.status == "queued"
    run = t.wait_on_run(run, thread)
    assert run.status == "completed"
    t.pretty_print(t.get_response(thread))
    assert t.printed[-1].startswith("assistant: display_quiz returned:")
    assert "I don't know." in t.printed[-1]


class EventHandler(AssistantEventHandler):
    """The tutorial's handler (seed 003), printing into a list."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []

    def on_text_created(self, text) -> None:  # type: ignore[no-untyped-def]
        self.out.append("\nassistant > ")

    def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        self.out.append(delta.value)

    def on_tool_call_created(self, tool_call) -> None:  # type: ignore[no-untyped-def]
        self.out.append(f"\nassistant > {tool_call.type}\n")

    def on_tool_call_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        if delta.type == "code_interpreter":
            if delta.code_interpreter.input:
                self.out.append(delta.code_interpreter.input)
            if delta.code_interpreter.outputs:
                self.out.append("\n\noutput >")
                for output in delta.code_interpreter.outputs:
                    if output.type == "logs":
                        self.out.append(f"\n{output.logs}")


def test_streaming_with_the_event_handler_over_a_csv(server, client: openai.OpenAI) -> None:
    data = "이름,나이,성적\n김철수,20,A\n이영희,22,B\n박민수,21,C\n".encode()
    file = client.files.create(file=("mydata.csv", data), purpose="assistants")
    assistant = client.beta.assistants.create(
        name="Student Data Assistant",
        instructions="You answer questions about the students in mydata.csv.",
        model="gpt-4o",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": [file.id]}},
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="이영희 학생의 나이와 성적을 알려줘"
    )
    script(
        server,
        thread.id,
        [
            {
                "tool_calls": [
                    {
                        "type": "code_interpreter",
                        "code": "import csv\nfor row in csv.DictReader(open('mydata.csv', "
                        "encoding='utf-8')):\n    if row['이름'] == '이영희':\n"
                        "        print(row['나이'], row['성적'])\n",
                    }
                ]
            }
        ],
    )
    handler = EventHandler()
    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
        event_handler=handler,
    ) as stream:
        stream.until_done()
    printed = "".join(handler.out)
    assert "\nassistant > code_interpreter\n" in printed
    assert "\n\noutput >\n22 B\n" in printed
    assert "\nassistant > I ran the code" in printed
    assert "None" not in printed  # every text delta carried text
    run = handler.get_final_run()
    assert run.status == "completed"
    assert run.instructions.startswith("Please address the user as Jane Doe")


def test_stream_true_and_create_and_run(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(
        name="Math Tutor", instructions=MATH_INSTRUCTIONS, model="gpt-4o"
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "I need to solve the equation `3x + 11 = 14`."}]
    )
    stream = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, stream=True
    )
    events = [event.event for event in stream]
    assert events[0] == "thread.run.created" and events[-1] == "thread.run.completed"
    assert "thread.message.delta" in events

    run = client.beta.threads.create_and_run(
        assistant_id=assistant.id,
        thread={
            "messages": [{"role": "user", "content": "Explain deep learning to a 5 year old."}]
        },
    )
    run = client.beta.threads.runs.poll(run.id, thread_id=run.thread_id)
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(thread_id=run.thread_id).data[0]
    assert reply.content[0].text.value.endswith("Explain deep learning to a 5 year old.")
