"""The local model's policy, rule by rule, and the script queue.

:class:`LocalModel` is a pure component (a request in, deltas and a response out),
so these tests call it directly; ``test_chat_completions.py`` drives the same model
over HTTP with the real SDK, and the runs tests drive it through the engine.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orchestrator.scripting import (
    Script,
    ScriptCodeCall,
    ScriptFileSearchCall,
    ScriptFunctionCall,
    ScriptStep,
)
from orchestrator.server.config import ServerConfig
from orchestrator.server.providers import make_model
from orchestrator.server.providers.base import (
    ChatMessage,
    ModelError,
    ModelRequest,
    ModelResponse,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDef,
)
from orchestrator.server.providers.function_match import description_score, named_functions
from orchestrator.server.providers.local import LocalModel
from orchestrator.server.providers.script import ScriptQueue
from orchestrator.server.providers.tokens import count_tokens
from orchestrator.server.store import Store
from orchestrator.server.tools.citations import format_results
from tests.support.tool_defs import DISPLAY_QUIZ, GET_WEATHER


def function_tool(function: dict[str, Any]) -> ToolDef:
    """A function definition as the engine hands it to the model."""
    return ToolDef(
        "function",
        function["name"],
        function.get("description", ""),
        function["parameters"],
        strict=function.get("strict", False),
    )


QUIZ = function_tool(DISPLAY_QUIZ)  # the seed's display_quiz
WEATHER_TOOL = function_tool(GET_WEATHER)  # strict
CODE = ToolDef("code_interpreter", "code_interpreter")
SEARCH = ToolDef("file_search", "file_search")


@dataclass
class Hit:
    """Interface 1's SearchHit fields (what format_results reads)."""

    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any] = field(default_factory=dict)
    vector_store_id: str = "vs_1"


def request(
    text: str | None = "hello", *, tools: list[ToolDef] | None = None, **kw: Any
) -> ModelRequest:
    messages = [ChatMessage("system", "You are helpful.")]
    if text is not None:
        messages.append(ChatMessage("user", text))
    return ModelRequest(model="gpt-4o", messages=messages, tools=tools or [], **kw)


def collect(model: LocalModel, req: ModelRequest) -> list[Any]:
    async def go() -> list[Any]:
        return [item async for item in model.stream(req)]

    return asyncio.run(go())


def respond(req: ModelRequest, model: LocalModel | None = None) -> ModelResponse:
    items = collect(model or LocalModel(), req)
    assert isinstance(items[-1], ModelResponse)
    assert not any(isinstance(i, ModelResponse) for i in items[:-1]), "one response, last"
    return items[-1]


def args(call: ToolCall) -> dict[str, Any]:
    return json.loads(call.arguments)


# -- rule 6: the echo --------------------------------------------------------------


def test_plain_reply_echoes_and_says_it_is_the_local_model() -> None:
    r = respond(request("What is 2 + 2?"))
    assert r.text == "[local model] You said: What is 2 + 2?"
    assert r.finish_reason == "stop" and not r.tool_calls


def test_reply_streams_word_by_word_and_deltas_add_up() -> None:
    text = "Please explain how a binary search works, step by step, with an example"
    items = collect(LocalModel(), request(text))
    deltas = [i for i in items if isinstance(i, TextDelta)]
    assert len(deltas) > 5
    assert "".join(d.text for d in deltas) == items[-1].text


def test_json_object_response_format_gives_a_json_object() -> None:
    r = respond(request("hi there", response_format={"type": "json_object"}))
    assert json.loads(r.text or "") == {"model": "local", "reply": "You said: hi there"}


def test_json_schema_response_format_gives_a_schema_valid_value() -> None:
    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["answer", "confidence", "tags"],
        "additionalProperties": False,
    }
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    r = respond(request("Summarise the meeting notes", response_format=fmt))
    jsonschema.validate(json.loads(r.text or ""), schema)


def test_unsatisfiable_json_schema_is_an_invalid_prompt() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 3}},
        "required": ["n"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "broken", "schema": schema}}
    with pytest.raises(ModelError) as e:
        respond(request("hi", response_format=fmt))
    assert e.value.code == "invalid_prompt" and "'broken'" in e.value.message


def test_no_user_message_is_said_plainly() -> None:
    assert respond(request(None)).text == "[local model] There is no user message to answer."


# -- rule 3: named functions ---------------------------------------------------------


def test_named_function_is_called_with_schema_valid_arguments() -> None:
    r = respond(request("Make a quiz about photosynthesis with display_quiz", tools=[QUIZ, CODE]))
    assert r.finish_reason == "tool_calls" and r.text is None
    (call,) = r.tool_calls
    assert (call.type, call.name) == ("function", "display_quiz")
    assert call.id.startswith("call_")
    value = args(call)
    jsonschema.validate(value, QUIZ.parameters)
    assert "Photosynthesis" in value["title"]
    types = [q["question_type"] for q in value["questions"]]
    assert types == ["MULTIPLE_CHOICE", "FREE_RESPONSE"]
    # The seed's display_quiz reads q["choices"] for multiple choice questions.
    assert value["questions"][0]["choices"]


@pytest.mark.parametrize(
    "text",
    [
        "please call DISPLAY_QUIZ now",
        "Display_Quiz: geography",
        "display_quiz로 광합성 퀴즈를 만들어줘",
    ],
)
def test_function_names_match_case_insensitively_as_whole_identifiers(text: str) -> None:
    (call,) = respond(request(text, tools=[QUIZ])).tool_calls
    assert call.name == "display_quiz"


@pytest.mark.parametrize("text", ["show my display_quizzes", "redisplay_quiz", "display quiz"])
def test_partial_names_are_not_names(text: str) -> None:
    assert named_functions([QUIZ], text) == []


@pytest.mark.parametrize("text", ["show my display_quizzes", "redisplay_quiz", "display quiz"])
def test_partial_names_still_match_by_the_words_of_the_name(text: str) -> None:
    # Not named, but "quiz"/"quizzes" is a word of display_quiz: the description rule.
    (call,) = respond(request(text, tools=[QUIZ])).tool_calls
    assert call.name == "display_quiz"


SEED_QUIZ = function_tool(
    {
        "name": "display_quiz",
        "description": "학생에게 퀴즈를 표시하고 학생의 응답을 반환합니다. "
        "하나의 퀴즈에 여러 개의 질문이 포함될 수 있습니다.",
        "parameters": {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "questions": {
                    "type": "array",
                    "description": "제목과 옵션(객관식인 경우)이 있는 질문의 배열입니다.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "question_text": {"type": "string"},
                            "question_type": {
                                "type": "string",
                                "enum": ["MULTIPLE_CHOICE", "FREE_RESPONSE"],
                            },
                            "choices": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["question_text"],
                    },
                },
            },
            "required": ["title", "questions"],
        },
    }
)
TRANSLATE = function_tool(
    {
        "name": "translate_text",
        "description": "Translate a passage into another language. 문장을 번역합니다.",
        "parameters": {
            "type": "object",
            "properties": {
                "target_language": {"type": "string", "description": "Language to translate to"}
            },
        },
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The seed's own Korean prompt: 퀴즈 and 질문 are words of the description.
        (
            "두 가지 질문으로 퀴즈를 만들어줘. 하나는 주관식, 하나는 객관식으로, "
            "그런 다음 답변에 대한 피드백을 보내줘",
            "display_quiz",
        ),
        ("Make a quiz with 2 questions, then give me feedback.", "display_quiz"),
        ("이 문장을 영어로 번역해줘", "translate_text"),
        ("Please translate this into French", "translate_text"),
        ("What is the weather like in Oslo?", "get_weather"),
    ],
)
def test_the_best_described_function_is_called(text: str, expected: str) -> None:
    r = respond(request(text, tools=[SEED_QUIZ, TRANSLATE, WEATHER_TOOL]))
    assert [c.name for c in r.tool_calls] == [expected]
    schema = next(t for t in (SEED_QUIZ, TRANSLATE, WEATHER_TOOL) if t.name == expected)
    jsonschema.validate(args(r.tool_calls[0]), schema.parameters)


@pytest.mark.parametrize(
    "text",
    [
        "hello there",
        "안녕하세요, 오늘 기분이 어때요?",
        # Generic words (make, return, value; 만들, 반환) say nothing about which function.
        "Make it return a value",
        "값을 반환하도록 만들어줘",
    ],
)
def test_messages_that_match_no_function_words_are_answered(text: str) -> None:
    r = respond(request(text, tools=[SEED_QUIZ, TRANSLATE, WEATHER_TOOL]))
    assert not r.tool_calls and r.text == f"[local model] You said: {text}"


def test_the_better_match_wins_and_a_tie_goes_to_the_first_offered() -> None:
    empty = {"type": "object", "properties": {}}
    grader = function_tool({"name": "quiz_grader", "parameters": empty})
    maker = function_tool({"name": "quiz_maker", "parameters": empty})
    asker = function_tool(
        {"name": "quiz_maker_2", "description": "Asks questions.", "parameters": empty}
    )
    # "quiz" matches a word of each name (2 points each): a tie, the first offered wins.
    assert description_score(grader, "a quiz") == description_score(maker, "a quiz") == 2
    assert respond(request("a quiz", tools=[grader, maker])).tool_calls[0].name == "quiz_grader"
    assert respond(request("a quiz", tools=[maker, grader])).tool_calls[0].name == "quiz_maker"
    # "questions" also matches asker's description: 3 points beat 2, wherever it is offered.
    assert description_score(asker, "a quiz of questions") == 3
    r = respond(request("a quiz of questions", tools=[grader, maker, asker]))
    assert r.tool_calls[0].name == "quiz_maker_2"


def test_named_functions_win_over_described_ones() -> None:
    r = respond(request("get_weather for my quiz", tools=[SEED_QUIZ, WEATHER_TOOL]))
    assert [c.name for c in r.tool_calls] == ["get_weather"]


def test_required_with_one_function_calls_it_whatever_the_message() -> None:
    r = respond(request("hello there", tools=[TRANSLATE], tool_choice="required"))
    assert [c.name for c in r.tool_calls] == ["translate_text"]


def test_description_matching_is_linear_in_a_long_message() -> None:
    # 20k distinct words against a few tools: a quadratic path would not finish.
    text = " ".join(f"word{i}" for i in range(20000)) + " quiz"
    r = respond(request(text, tools=[SEED_QUIZ, TRANSLATE, WEATHER_TOOL]))
    assert [c.name for c in r.tool_calls] == ["display_quiz"]


def test_message_words_fill_free_strings_and_enum_mentions_win() -> None:
    (call,) = respond(
        request("get_weather in Paris, in fahrenheit please", tools=[WEATHER_TOOL])
    ).tool_calls
    assert args(call) == {"location": "Paris", "unit": "fahrenheit"}


def test_several_named_functions_are_parallel_calls_in_the_order_named() -> None:
    r = respond(
        request("First get_weather for Seoul, then display_quiz", tools=[QUIZ, WEATHER_TOOL])
    )
    assert [c.name for c in r.tool_calls] == ["get_weather", "display_quiz"]
    assert len({c.id for c in r.tool_calls}) == 2


def test_parallel_tool_calls_false_calls_only_the_first() -> None:
    req = request(
        "get_weather and display_quiz", tools=[QUIZ, WEATHER_TOOL], parallel_tool_calls=False
    )
    assert [c.name for c in respond(req).tool_calls] == ["get_weather"]


def test_tool_choice_forces_a_function_the_message_does_not_name() -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    (call,) = respond(
        request("Is it warm in Lisbon?", tools=[QUIZ, WEATHER_TOOL], tool_choice=choice)
    ).tool_calls
    assert call.name == "get_weather"
    jsonschema.validate(args(call), WEATHER_TOOL.parameters)


def test_tool_choice_required_picks_the_first_function() -> None:
    (call,) = respond(
        request("anything", tools=[CODE, QUIZ, WEATHER_TOOL], tool_choice="required")
    ).tool_calls
    assert call.name == "display_quiz"


def test_tool_choice_none_disables_tool_calls() -> None:
    text = "display_quiz\n```python\nprint(1)\n```"
    r = respond(request(text, tools=[QUIZ, CODE, SEARCH], tool_choice="none"))
    assert not r.tool_calls and r.text == f"[local model] You said: {text}"


def test_forcing_a_function_that_is_not_offered_is_an_invalid_prompt() -> None:
    choice = {"type": "function", "function": {"name": "nope"}}
    with pytest.raises(ModelError) as e:
        respond(request("hi", tools=[QUIZ], tool_choice=choice))
    assert e.value.code == "invalid_prompt" and "'nope'" in e.value.message


def test_unsatisfiable_parameters_schema_fails_naming_the_function() -> None:
    bad = ToolDef(
        "function",
        "broken",
        parameters={
            "type": "object",
            "properties": {"s": {"type": "string", "minLength": 5, "maxLength": 2}},
            "required": ["s"],
        },
    )
    with pytest.raises(ModelError) as e:
        respond(request("call broken", tools=[bad]))
    assert e.value.code == "invalid_prompt" and "'broken'" in e.value.message


def test_tool_call_arguments_stream_as_deltas_that_add_up() -> None:
    items = collect(LocalModel(), request("display_quiz please", tools=[QUIZ]))
    final = items[-1]
    deltas = [i for i in items if isinstance(i, ToolCallDelta)]
    assert deltas[0].index == 0 and deltas[0].id == final.tool_calls[0].id
    assert (deltas[0].type, deltas[0].name) == ("function", "display_quiz")
    assert len(deltas) > 2
    assert "".join(d.arguments for d in deltas) == final.tool_calls[0].arguments


# -- rule 4: code --------------------------------------------------------------------


@pytest.mark.parametrize("fence", ["```python", "```py", "```", "``` Python"])
def test_fenced_code_runs_with_code_interpreter(fence: str) -> None:
    text = f"Run this:\n{fence}\nimport math\nprint(math.sqrt(16))\n```\nthanks"
    (call,) = respond(request(text, tools=[CODE, SEARCH])).tool_calls
    assert (call.type, call.name) == ("code_interpreter", "code_interpreter")
    assert args(call) == {"code": "import math\nprint(math.sqrt(16))\n"}


def test_several_blocks_run_as_one_program() -> None:
    text = "```python\nx = 2\n```\nand then\n```python\nprint(x * 21)\n```"
    (call,) = respond(request(text, tools=[CODE])).tool_calls
    assert args(call)["code"] == "x = 2\n\nprint(x * 21)\n"


def test_code_is_not_run_without_code_interpreter_or_in_other_languages() -> None:
    assert not respond(request("```python\nprint(1)\n```")).tool_calls
    assert not respond(request("```bash\nrm -rf /\n```", tools=[CODE])).tool_calls


def test_forced_code_interpreter_without_a_block_prints_the_message() -> None:
    r = respond(request("hello sandbox", tools=[CODE], tool_choice={"type": "code_interpreter"}))
    assert args(r.tool_calls[0]) == {"code": "print('hello sandbox')"}


def test_a_named_function_comes_before_code() -> None:
    text = "display_quiz\n```python\nprint(1)\n```"
    assert [c.name for c in respond(request(text, tools=[CODE, QUIZ])).tool_calls] == [
        "display_quiz"
    ]


# -- rule 5: file search ---------------------------------------------------------------


def test_file_search_uses_the_message_as_query() -> None:
    (call,) = respond(request("What is the  refund\npolicy?", tools=[SEARCH])).tool_calls
    assert (call.type, call.name) == ("file_search", "file_search")
    assert args(call) == {"query": "What is the refund policy?"}


def test_code_comes_before_file_search_and_forcing_file_search_skips_code() -> None:
    text = "```python\nprint(1)\n```"
    assert respond(request(text, tools=[SEARCH, CODE])).tool_calls[0].type == "code_interpreter"
    forced = request(text, tools=[SEARCH, CODE], tool_choice={"type": "file_search"})
    assert respond(forced).tool_calls[0].type == "file_search"


# -- rule 2: replying with tool outputs -----------------------------------------------


def after_tools(calls: list[ToolCall], outputs: list[str], tools: list[ToolDef]) -> ModelRequest:
    req = request("question", tools=tools)
    req.messages.append(ChatMessage("assistant", tool_calls=calls))
    for call, output in zip(calls, outputs, strict=True):
        req.messages.append(ChatMessage("tool", output, tool_call_id=call.id))
    return req


def test_function_outputs_are_reported_by_name() -> None:
    calls = [
        ToolCall("call_a", "function", "display_quiz", "{}"),
        ToolCall("call_b", "function", "get_weather", "{}"),
    ]
    r = respond(after_tools(calls, ['["a", "I don\'t know."]', "21 C"], [QUIZ, WEATHER_TOOL]))
    assert r.text == 'display_quiz returned: ["a", "I don\'t know."]\n\nget_weather returned: 21 C'
    assert r.finish_reason == "stop"


def test_file_search_outputs_are_quoted_with_their_markers() -> None:
    hits = [
        Hit(
            "file-1",
            "policy.md",
            0.92,
            "Welcome to the shop. Refunds are accepted within 30 days of purchase. Keep your receipt.",
        ),
        Hit("file-2", "faq.md", 0.41, "Shipping takes five working days."),
    ]
    call = ToolCall("call_s", "file_search", "file_search", json.dumps({"query": "refund policy"}))
    r = respond(after_tools([call], [format_results(0, hits)], [SEARCH]))
    text = r.text or ""
    assert "Refunds are accepted within 30 days of purchase." in text
    # Each quote is followed by its marker, which the engine turns into a citation.
    assert "purchase. Keep your receipt.”【0:0†policy.md】" in text
    assert "【0:1†faq.md】" in text
    assert text.index("【0:0†policy.md】") < text.index("【0:1†faq.md】")
    assert "Welcome to the shop" not in text  # the best sentence, not the chunk's start


def test_file_search_without_results_says_so() -> None:
    call = ToolCall("call_s", "file_search", "file_search", json.dumps({"query": "unicorns"}))
    r = respond(after_tools([call], [format_results(0, [])], [SEARCH]))
    assert r.text == "I searched the files about “unicorns” but found no relevant passages."


def test_code_output_and_errors_are_reported() -> None:
    call = ToolCall(
        "call_c", "code_interpreter", "code_interpreter", json.dumps({"code": "print(4)"})
    )
    ok = respond(after_tools([call], ["4\n"], [CODE])).text or ""
    assert ok.startswith("I ran the code. Its output:") and "\n4\n" in ok
    err = "Traceback (most recent call last):\nZeroDivisionError: division by zero"
    failed = respond(after_tools([call], [err], [CODE])).text or ""
    assert failed.startswith("I ran the code, and it failed:") and "ZeroDivisionError" in failed
    for quiet in ("", "(no output)"):  # the engine's placeholder for silence
        text = respond(after_tools([call], [quiet], [CODE])).text
        assert text == "I ran the code. It finished without printing anything."
    silent_failure = respond(after_tools([call], ["(failed with no output)"], [CODE])).text
    assert silent_failure == "I ran the code, and it failed without printing anything."
    timeout = respond(after_tools([call], ["Timed out after 30 s"], [CODE])).text or ""
    assert timeout.startswith("I ran the code, and it failed:")


def test_tool_outputs_come_before_naming_a_function_again() -> None:
    # The user message still names display_quiz, but the outputs are in: reply, not loop.
    req = request(
        "display_quiz please",
        tools=[QUIZ],
        tool_choice={"type": "function", "function": {"name": "display_quiz"}},
    )
    call = ToolCall("call_q", "function", "display_quiz", "{}")
    req.messages += [
        ChatMessage("assistant", tool_calls=[call]),
        ChatMessage("tool", "ok", tool_call_id="call_q"),
    ]
    assert respond(req).text == "display_quiz returned: ok"


# -- rule 1: scripts ----------------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    return Store(None)


def test_script_steps_are_followed_in_order_then_the_policy_resumes(store: Store) -> None:
    queue = ScriptQueue(store)
    queue.push(
        "thread_1",
        [
            ScriptStep(
                tool_calls=[
                    ScriptFunctionCall(
                        name="get_weather", arguments={"location": "Oslo", "unit": "celsius"}
                    )
                ]
            ),
            ScriptStep(
                tool_calls=[
                    ScriptCodeCall(code="print(6 * 7)"),
                    ScriptFileSearchCall(query="fjords"),
                ]
            ),
            ScriptStep(reply="It is cold in Oslo."),
        ],
    )
    model = LocalModel(store)
    tools = [WEATHER_TOOL, CODE, SEARCH]
    first = respond(request("weather?", tools=tools, thread_id="thread_1"), model)
    assert [(c.type, c.name, args(c)) for c in first.tool_calls] == [
        ("function", "get_weather", {"location": "Oslo", "unit": "celsius"})
    ]
    second = respond(request("weather?", tools=tools, thread_id="thread_1"), model)
    assert [(c.type, args(c)) for c in second.tool_calls] == [
        ("code_interpreter", {"code": "print(6 * 7)"}),
        ("file_search", {"query": "fjords"}),
    ]
    third = respond(request("weather?", tools=tools, thread_id="thread_1"), model)
    assert third.text == "It is cold in Oslo." and third.finish_reason == "stop"
    assert queue.pending("thread_1") == []
    # Queue empty: the policy again (no function matches, file_search is offered).
    assert (
        respond(request("fjords?", tools=tools, thread_id="thread_1"), model).tool_calls[0].type
        == "file_search"
    )


def test_a_script_belongs_to_its_thread(store: Store) -> None:
    ScriptQueue(store).push("thread_a", [ScriptStep(reply="scripted")])
    model = LocalModel(store)
    assert respond(request("hi", thread_id="thread_b"), model).text == "[local model] You said: hi"
    assert respond(request("hi"), model).text == "[local model] You said: hi"
    assert respond(request("hi", thread_id="thread_a"), model).text == "scripted"


def test_a_script_comes_before_tool_outputs(store: Store) -> None:
    ScriptQueue(store).push("t", [ScriptStep(reply="Recorded final answer.")])
    call = ToolCall("call_a", "function", "get_weather", "{}")
    req = after_tools([call], ["21 C"], [WEATHER_TOOL])
    req.thread_id = "t"
    assert respond(req, LocalModel(store)).text == "Recorded final answer."


def test_script_calling_an_unknown_function_names_step_and_function(store: Store) -> None:
    queue = ScriptQueue(store)
    queue.push("t", [ScriptStep(reply="one")])
    queue.push(
        "t", [ScriptStep(tool_calls=[ScriptFunctionCall(name="lookup_order", arguments={})])]
    )
    model = LocalModel(store)
    respond(request("x", thread_id="t"), model)
    with pytest.raises(ModelError) as e:
        respond(request("x", tools=[QUIZ], thread_id="t"), model)
    message = e.value.message
    assert e.value.code == "invalid_prompt"
    assert "script step 2" in message and "'lookup_order'" in message and "display_quiz" in message


def test_script_arguments_that_break_the_schema_name_the_problem(store: Store) -> None:
    bad = {"location": "Oslo", "unit": "kelvin"}
    ScriptQueue(store).push(
        "t", [ScriptStep(tool_calls=[ScriptFunctionCall(name="get_weather", arguments=bad)])]
    )
    with pytest.raises(ModelError) as e:
        respond(request("x", tools=[WEATHER_TOOL], thread_id="t"), LocalModel(store))
    msg = e.value.message
    assert "script step 1" in msg and "'get_weather'" in msg and "unit" in msg and "kelvin" in msg


@pytest.mark.parametrize(
    ("call", "missing"),
    [
        (ScriptCodeCall(code="print(1)"), "code_interpreter"),
        (ScriptFileSearchCall(query="q"), "file_search"),
    ],
)
def test_script_built_in_calls_need_the_tool(store: Store, call: Any, missing: str) -> None:
    ScriptQueue(store).push("t", [ScriptStep(tool_calls=[call])])
    with pytest.raises(ModelError) as e:
        respond(request("x", tools=[QUIZ], thread_id="t"), LocalModel(store))
    assert "script step 1" in e.value.message and missing in e.value.message


def test_queue_append_replace_pending_clear(store: Store) -> None:
    q = ScriptQueue(store)
    assert q.pop("t") is None and q.pending("t") == []
    q.push("t", [ScriptStep(reply="a"), ScriptStep(reply="b")])
    q.push("t", [ScriptStep(reply="c")], "append")
    assert [s.reply for s in q.pending("t")] == ["a", "b", "c"]
    assert q.pop_numbered("t") == (1, ScriptStep(reply="a"))
    q.push("t", [ScriptStep(reply="d")], "replace")
    assert [s.reply for s in q.pending("t")] == ["d"]
    assert q.pop_numbered("t") == (1, ScriptStep(reply="d"))  # numbering restarts on replace
    q.push("t", Script(steps=[ScriptStep(reply="e")]).steps)
    q.clear("t")
    assert q.pending("t") == [] and q.pop("t") is None


def test_queue_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    first = Store(db)
    steps = [
        ScriptStep(
            tool_calls=[
                ScriptFunctionCall(name="f", arguments={"nested": {"k": [1, 2]}}),
                ScriptCodeCall(code="x"),
            ]
        ),
        ScriptStep(reply="done"),
    ]
    ScriptQueue(first).push("thread_x", steps)
    first.close()
    again = ScriptQueue(Store(db))
    assert again.pending("thread_x") == steps
    assert again.pop("thread_x") == steps[0]


def test_pops_are_atomic_across_threads(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    q = ScriptQueue(store)
    q.push("t", [ScriptStep(reply=str(i)) for i in range(200)])
    taken: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while (step := q.pop("t")) is not None:
            with lock:
                taken.append(step.reply or "")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken, key=int) == [str(i) for i in range(200)]


def test_deleting_a_threads_children_removes_its_script(store: Store) -> None:
    q = ScriptQueue(store)
    q.push("thread_z", [ScriptStep(reply="x")])
    store.delete_children("thread_z")
    assert q.pending("thread_z") == []


# -- determinism, usage, limits ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["hello", "display_quiz about volcanoes", "```python\nprint(2)\n```", "find the refund policy"],
)
def test_same_request_same_output(text: str) -> None:
    def make() -> ModelRequest:
        return request(text, tools=[QUIZ, CODE, SEARCH], thread_id="thread_1", run_id="run_1")

    first = collect(LocalModel(), make())
    again = collect(LocalModel(Store(None)), make())
    assert first == again
    other_run = collect(
        LocalModel(),
        request(text, tools=[QUIZ, CODE, SEARCH], thread_id="thread_1", run_id="run_2"),
    )
    if first[-1].tool_calls:  # ids are per run, content is not
        assert first[-1].tool_calls[0].id != other_run[-1].tool_calls[0].id
        assert first[-1].tool_calls[0].arguments == other_run[-1].tool_calls[0].arguments


def test_usage_counts_prompt_and_completion_tokens() -> None:
    short = respond(request("hi"))
    long = respond(request("hi " * 200))
    assert short.usage.completion_tokens == count_tokens(short.text or "")
    assert long.usage.prompt_tokens > short.usage.prompt_tokens + 190
    assert short.usage.total_tokens == short.usage.prompt_tokens + short.usage.completion_tokens
    with_tools = respond(request("hi", tools=[QUIZ]))
    assert with_tools.usage.prompt_tokens > short.usage.prompt_tokens  # tool schemas count
    called = respond(request("display_quiz", tools=[QUIZ]))
    assert called.usage.completion_tokens >= count_tokens(called.tool_calls[0].arguments)


def test_max_completion_tokens_cuts_the_reply() -> None:
    r = respond(request("word " * 100, max_completion_tokens=10))
    assert r.finish_reason == "length"
    assert 0 < r.usage.completion_tokens <= 10
    assert ("[local model] You said: " + "word " * 100).startswith(r.text or "")


def test_token_counts_are_approximate_but_sane() -> None:
    assert count_tokens("") == 0
    assert count_tokens("The quick brown fox jumps over the lazy dog.") == 10
    assert count_tokens("안녕하세요") == 5  # one per Hangul syllable
    assert count_tokens("internationalization") == 4


def test_make_model_picks_the_configured_provider(store: Store) -> None:
    assert isinstance(make_model(ServerConfig(), store), LocalModel)
    with pytest.raises(ValueError, match="upstream"):
        make_model(ServerConfig(model_provider="chat"), store)


def test_korean_queries_pick_the_matching_sentence() -> None:
    text = "매장 안내입니다. 환불은 구매 후 30일 이내에 가능합니다. 영수증을 보관하세요."
    call = ToolCall(
        "call_k", "file_search", "file_search", json.dumps({"query": "환불 기간이 어떻게 되나요?"})
    )
    r = respond(
        after_tools([call], [format_results(0, [Hit("file-k", "안내.md", 0.8, text)])], [SEARCH])
    )
    assert "“환불은 구매 후 30일 이내에 가능합니다." in (r.text or "")
    assert "【0:0†안내.md】" in (r.text or "")


def test_script_errors_list_every_problem_with_its_place(store: Store) -> None:
    bad = {
        "title": 1,
        "questions": [{"question_text": "q", "question_type": "ESSAY"}],
        "extra": True,
    }
    ScriptQueue(store).push(
        "t", [ScriptStep(tool_calls=[ScriptFunctionCall(name="display_quiz", arguments=bad)])]
    )
    with pytest.raises(ModelError) as e:
        respond(request("x", tools=[QUIZ], thread_id="t"), LocalModel(store))
    assert "title: 1 is not of type 'string'" in e.value.message
    assert "questions[0].question_type: 'ESSAY' is not one of" in e.value.message


def test_tool_choice_required_without_functions_uses_a_built_in() -> None:
    only_code = respond(request("hello", tools=[CODE], tool_choice="required")).tool_calls
    assert args(only_code[0]) == {"code": "print('hello')"}
    both = respond(request("hello", tools=[CODE, SEARCH], tool_choice="required")).tool_calls
    assert both[0].type == "file_search"
