"""The local model: deterministic, offline, and documented, for tests and CI.

Policy, applied to each model request in this order (the first rule that applies
decides the step):

1. **Script.** If a script is queued for the request's thread (:class:`ScriptQueue`,
   filled through ``POST /v1/x-orchestrator/threads/{thread_id}/script`` or a
   cassette replay), the next step is taken from it and followed exactly: its tool
   calls (functions with their arguments, ``code_interpreter`` with its code,
   ``file_search`` with its query) or its reply. A scripted call to a function the
   request does not offer, arguments that do not validate against the function's
   ``parameters`` schema, or a built-in tool the run does not have, fails the step
   with ``invalid_prompt`` and a message naming the step, the tool and the problem
   (the recorded conversation no longer fits the assistant).
2. **Tool outputs.** If the last messages are tool outputs (answering the assistant's
   tool calls just before them), the reply reports them: for ``file_search``, the
   best passages quoted, each followed by its citation marker (``【0:1†guide.md】``,
   which the engine turns into a ``file_citation`` annotation); for
   ``code_interpreter``, the output the code printed (and its error) and a markdown
   link ``[name](sandbox:/mnt/data/name)`` to each file it wrote; for functions,
   "``<name>`` returned: ``<output>``" for each.
3. **Function.** If ``tool_choice`` forces a function, or the last user message names
   function tools (their names, case-insensitive, as whole identifiers:
   ``display_quiz``, ``Display_Quiz`` and ``display_quiz로`` count, ``display_quizzes``
   does not), the model calls them; several named functions are called in parallel,
   in the order the message names them (with ``parallel_tool_calls: false`` only the
   first). Else, if the message's words match the words of a function's name,
   description or parameter descriptions (English and Korean; scored as
   :mod:`~orchestrator.server.providers.function_match` documents), the best-matching
   function is called: "두 가지 질문으로 퀴즈를 만들어줘" calls a ``display_quiz``
   described as "학생에게 퀴즈를 표시하고 ...". Else ``tool_choice: "required"`` calls
   the first function. Arguments are generated from the function's JSON Schema (see
   :mod:`~orchestrator.server.providers.argument_gen`: enum values, defaults, examples,
   formats, bounds, nested objects and arrays, and words of the message), validated
   before they are returned.
4. **Code.** If ``code_interpreter`` is offered and the last user message has a
   fenced code block (```` ```python ```` or a bare ```` ``` ````), the model runs it
   (all such blocks, in order, as one program). Forced by ``tool_choice`` without a
   code block, the code prints the message.
5. **File search.** If ``file_search`` is offered (the engine offers it only when
   vector stores are attached), the model searches with the user's message as the
   query.
6. **Echo.** Otherwise a plain reply: ``[local model] You said: <message>``. With
   ``response_format`` ``json_object`` the reply is a JSON object
   (``{"model": "local", "reply": "You said: ..."}``); with ``json_schema``, a JSON
   value generated from the schema (valid against it).

``tool_choice: "none"`` skips rules 3-5. ``{"type": "code_interpreter"}`` or
``{"type": "file_search"}`` forces rule 4 or 5 (a forced built-in tool that is not
offered is ignored); a forced function that is not offered is an ``invalid_prompt``
error. ``"required"`` with no function tools runs code (the block, else printing the
message) when file search is not offered, else searches. Rule 2 comes before any
forcing, so a forced tool is called once per run, not in a loop. Arguments that no
value can satisfy (e.g. ``minimum`` above ``maximum``) are an ``invalid_prompt`` error
naming the function.

The built-ins offered as functions (what the ``chat`` provider sends upstream, so that
one server can be the upstream of another): a function named ``file_search`` or
``code_interpreter`` (or ``builtin_file_search``, ``builtin_code_interpreter_2``, ...,
see :mod:`~orchestrator.server.providers.chat_mapping`) whose parameters take a
``query`` or ``code`` string is that built-in for rules 2, 4 and 5: it is called
exactly when a run would call the built-in (as a function call with ``{"query": ...}``
or ``{"code": ...}``), and its outputs are reported as the built-in's are. Rule 3
matches it only by its name (never by its description), with those same arguments.

Usage is approximate (:mod:`~orchestrator.server.providers.tokens`): prompt tokens from
all message text, tool calls and tool definitions; completion tokens from the reply or
the calls. ``max_completion_tokens`` cuts a longer reply (finish reason ``length``).
Replies stream word by word; each tool call streams as a header delta (id, type,
name) and argument pieces. Tool call ids are derived from the request (thread, run,
messages), so the same request always gives the same output: no randomness, no clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from orchestrator.scripting import ScriptCodeCall, ScriptFileSearchCall, ScriptStep
from orchestrator.server.providers.argument_gen import (
    ArgumentGenerationError,
    MessageWords,
    generate_arguments,
    generate_value,
    python_blocks,
    schema_problem,
)
from orchestrator.server.providers.base import (
    ChatMessage,
    ModelError,
    ModelRequest,
    ModelResponse,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDef,
    ToolType,
    Usage,
)
from orchestrator.server.providers.chat_mapping import builtin_offered_as
from orchestrator.server.providers.function_match import best_described, named_functions
from orchestrator.server.providers.script import ScriptQueue
from orchestrator.server.providers.tokens import count_tokens, estimate_tokens
from orchestrator.server.tools.citations import CitedSource, parse_results
from orchestrator.server.tools.file_links import split_written

if TYPE_CHECKING:
    from orchestrator.server.store import Store

LABEL = "[local model]"
# Passages quoted from one file_search output, and the length of each quote.
MAX_QUOTES = 3
QUOTE_CHARS = 320
# Tool call arguments stream in pieces of this many characters.
ARGUMENT_PIECE = 48

_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+|\n|$)")
_ERROR_LINE = re.compile(r"^(?:Traceback|\w*(?:Error|Exception)\b|Timed out)", re.M)


_CallSpec = tuple[str, str, str]  # (type, name, arguments JSON)


@dataclass
class _Decision:
    text: str | None = None
    calls: list[_CallSpec] | None = None


class LocalModel:
    """The deterministic local model (policy in the module docstring)."""

    name = "local"

    def __init__(self, store: Store | None = None) -> None:
        self.scripts = ScriptQueue(store) if store is not None else None

    async def stream(
        self, request: ModelRequest
    ) -> AsyncIterator[TextDelta | ToolCallDelta | ModelResponse]:
        # Off the event loop: argument generation and validation are CPU work whose size
        # a request's schemas decide; /health and other requests keep being served.
        response = await asyncio.to_thread(self.respond, request)
        if response.tool_calls:
            for i, call in enumerate(response.tool_calls):
                yield ToolCallDelta(index=i, id=call.id, type=call.type, name=call.name)
                for piece in _pieces(call.arguments, ARGUMENT_PIECE):
                    await asyncio.sleep(0)
                    yield ToolCallDelta(index=i, arguments=piece)
        elif response.text:
            for piece in split_words(response.text):
                await asyncio.sleep(0)  # let the engine publish each delta as it comes
                yield TextDelta(piece)
        yield response

    def respond(self, request: ModelRequest) -> ModelResponse:
        """The whole step at once (what :meth:`stream` streams)."""
        decision = self._decide(request)
        usage = Usage(prompt_tokens=estimate_tokens(request.messages, request.tools))
        if decision.calls:
            calls = [
                ToolCall(id=_call_id(request, i), type=t, name=n, arguments=a)  # type: ignore[arg-type]
                for i, (t, n, a) in enumerate(decision.calls)
            ]
            usage.completion_tokens = sum(
                count_tokens(c.name) + count_tokens(c.arguments) for c in calls
            )
            return ModelResponse(tool_calls=calls, usage=usage, finish_reason="tool_calls")
        text = decision.text or ""
        finish: Any = "stop"
        limit = request.max_completion_tokens
        if limit is not None and count_tokens(text) > limit:
            text, finish = truncate_tokens(text, limit), "length"
        usage.completion_tokens = count_tokens(text)
        return ModelResponse(text=text, usage=usage, finish_reason=finish)

    # -- the policy ---------------------------------------------------------------------

    def _decide(self, request: ModelRequest) -> _Decision:
        scripted = self._scripted(request)
        if scripted is not None:
            return scripted
        outputs = _trailing_tool_outputs(request.messages)
        if outputs is not None:
            as_function = {
                t.name: kind for t in request.tools if (kind := builtin_offered_as(t)) is not None
            }
            return _Decision(text=_report_outputs(*outputs, as_function))
        user = _last_user_text(request.messages)
        choice = request.tool_choice if request.tool_choice is not None else "auto"
        if choice != "none":
            called = self._call_tools(request, user, choice)
            if called is not None:
                return called
        return _Decision(text=_echo(request, user))

    def _scripted(self, request: ModelRequest) -> _Decision | None:
        if self.scripts is None or not request.thread_id:
            return None
        taken = self.scripts.pop_numbered(request.thread_id)
        if taken is None:
            return None
        number, step = taken
        return _follow_step(request, number, step)

    def _call_tools(self, request: ModelRequest, user: str | None, choice: Any) -> _Decision | None:
        # Built-ins offered as functions (a downstream server's chat provider) play the
        # built-in's part; the other functions are the user's.
        as_function = {
            kind: t.name for t in request.tools if (kind := builtin_offered_as(t)) is not None
        }
        functions = [
            t for t in request.tools if t.type == "function" and t.name not in as_function.values()
        ]
        offered = {t.type for t in request.tools if t.type != "function"} | set(as_function)
        text = user or ""
        forced_type = choice.get("type") if isinstance(choice, dict) else None
        if forced_type not in ("function", "code_interpreter", "file_search"):
            forced_type = None  # an unknown forcing reads as "auto"
        if forced_type == "function":
            name = (choice.get("function") or {}).get("name")
            forced_type = next((k for k, n in as_function.items() if n == name), forced_type)

        # Rule 3: the forced function, the named ones, else the best described.
        if forced_type == "function":
            name = (choice.get("function") or {}).get("name")
            tool = next((t for t in functions if t.name == name), None)
            if tool is None:
                raise ModelError(
                    "invalid_prompt",
                    f"tool_choice forces function {name!r}, but the request offers no such "
                    f"function (offered: {_names(functions)}).",
                )
            return _Decision(calls=[_function_call(tool, text, functions)])
        if forced_type is None:
            every = [t for t in request.tools if t.type == "function"]
            chosen = named_functions(every, text)
            if not chosen:
                described = best_described(functions, text)
                chosen = [described] if described is not None else []
            if choice == "required" and not chosen and functions:
                chosen = functions[:1]
            if chosen:
                if not request.parallel_tool_calls:
                    chosen = chosen[:1]
                return _Decision(calls=[_named_call(t, text, functions) for t in chosen])

        # Rule 4: a fenced code block, with code_interpreter on.
        code = python_blocks(text)
        wants_code = (
            code is not None
            or forced_type == "code_interpreter"
            or (choice == "required" and "file_search" not in offered)
        )
        if "code_interpreter" in offered and forced_type != "file_search" and wants_code:
            if code is None:
                code = f"print({text!r})"
            return _Decision(calls=[_builtin_call("code_interpreter", as_function, code=code)])

        # Rule 5: file search over the attached vector stores.
        if "file_search" in offered and forced_type in (None, "file_search"):
            query = " ".join(text.split())
            return _Decision(calls=[_builtin_call("file_search", as_function, query=query)])
        return None


def _named_call(tool: ToolDef, text: str, functions: list[ToolDef]) -> _CallSpec:
    """A call of a function the message names: a built-in offered as a function gets
    the built-in's argument (the message as the query, or its code), others generated."""
    kind = builtin_offered_as(tool)
    if kind == "file_search":
        return ("function", tool.name, _dumps({"query": " ".join(text.split())}))
    if kind == "code_interpreter":
        code = python_blocks(text) or f"print({text!r})"
        return ("function", tool.name, _dumps({"code": code}))
    return _function_call(tool, text, functions)


def _builtin_call(kind: ToolType, as_function: dict[str, str], **arguments: str) -> _CallSpec:
    """A call of the built-in, as the function standing for it when it is offered so."""
    if kind in as_function:
        return ("function", as_function[kind], _dumps(arguments))
    return (kind, kind, _dumps(arguments))


# -- rule 1: scripts ------------------------------------------------------------------


def _follow_step(request: ModelRequest, number: int, step: ScriptStep) -> _Decision:
    if step.reply is not None:
        return _Decision(text=step.reply)
    where = f"script step {number} for thread {request.thread_id}"
    offered = {t.type for t in request.tools}
    functions = {t.name: t for t in request.tools if t.type == "function"}
    calls: list[tuple[str, str, str]] = []
    for call in step.tool_calls:
        if isinstance(call, ScriptCodeCall):
            if "code_interpreter" not in offered:
                raise ModelError(
                    "invalid_prompt",
                    f"{where} runs code with code_interpreter, but the run does not have the "
                    "code_interpreter tool. Enable it on the assistant or re-record the script.",
                )
            calls.append(("code_interpreter", "code_interpreter", _dumps({"code": call.code})))
        elif isinstance(call, ScriptFileSearchCall):
            if "file_search" not in offered:
                raise ModelError(
                    "invalid_prompt",
                    f"{where} searches files with file_search, but the run has no file_search "
                    "tool with vector stores attached. Attach a vector store or re-record.",
                )
            calls.append(("file_search", "file_search", _dumps({"query": call.query})))
        else:
            tool = functions.get(call.name)
            if tool is None:
                raise ModelError(
                    "invalid_prompt",
                    f"{where} calls function {call.name!r}, but the run offers no such function "
                    f"(offered: {_names(list(functions.values()))}). The script no longer fits "
                    "the assistant: re-record it or fix the step.",
                )
            problem = schema_problem(tool.parameters, call.arguments)
            if problem is not None:
                raise ModelError(
                    "invalid_prompt",
                    f"{where} calls function {call.name!r} with arguments that do not match its "
                    f"parameters schema: {problem}. Re-record the script or fix the step's "
                    "arguments.",
                )
            calls.append(("function", call.name, _dumps(call.arguments)))
    return _Decision(calls=calls)


# -- rule 2: replying with tool outputs -----------------------------------------------


def _trailing_tool_outputs(
    messages: list[ChatMessage],
) -> tuple[list[ChatMessage], dict[str, ToolCall]] | None:
    """The tool messages that end the conversation, and the calls they answer."""
    i = len(messages)
    while i > 0 and messages[i - 1].role == "tool":
        i -= 1
    if i == len(messages):
        return None
    calls: dict[str, ToolCall] = {}
    if i > 0 and messages[i - 1].role == "assistant":
        calls = {c.id: c for c in messages[i - 1].tool_calls}
    return messages[i:], calls


def _report_outputs(
    outputs: list[ChatMessage], calls: dict[str, ToolCall], as_function: dict[str, ToolType]
) -> str:
    """The reply to tool outputs; ``as_function`` maps the names of functions that stand
    for built-ins to the built-in, whose outputs are reported as the built-in's."""
    parts: list[str] = []
    for message in outputs:
        call = calls.get(message.tool_call_id or "")
        kind = call.type if call else "function"
        if call is not None and kind == "function":
            kind = as_function.get(call.name, kind)
        name = call.name if call else (message.tool_call_id or "the tool")
        if kind == "file_search":
            parts.append(_report_search(call, message.content))
        elif kind == "code_interpreter":
            parts.append(_report_code(message.content))
        else:
            parts.append(f"{name} returned: {message.content}")
    return "\n\n".join(parts)


def _report_search(call: ToolCall | None, output: str) -> str:
    query = _argument(call, "query") if call else ""
    about = f" about “{query}”" if query else ""
    sources = parse_results(output)
    if not sources:
        return f"I searched the files{about} but found no relevant passages."
    terms = _terms(query)
    lines = [f"Here is what the files say{about}:"]
    for source in sources[:MAX_QUOTES]:
        lines.append(f"“{best_passage(source, terms)}”{source.marker}")
    return "\n\n".join(lines)


def best_passage(source: CitedSource, terms: list[str]) -> str:
    """The sentence(s) of a hit that share the most words with the query, shortened."""
    sentences = [s.strip() for s in _SENTENCE.findall(source.text) if s.strip()]
    if not sentences:
        return _shorten(" ".join(source.text.split()), QUOTE_CHARS)
    scores = [sum(t in s.lower() for t in terms) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    passage = " ".join(sentences[best].split())
    # Short sentences read better with their neighbour.
    j = best + 1
    while len(passage) < QUOTE_CHARS // 2 and j < len(sentences):
        passage += " " + " ".join(sentences[j].split())
        j += 1
    return _shorten(passage, QUOTE_CHARS)


def _report_code(output: str) -> str:
    logs, links = split_written(output.strip("\n"))
    text = logs.strip("\n")
    # The files the code wrote, linked as OpenAI's models link them (the engine
    # annotates each link with the file's id).
    files = ""
    if links:
        files = "\n\nFiles written: " + ", ".join(
            f"[{PurePosixPath(link).name}]({link})" for link in links
        )
    # The engine's placeholders for an execution that printed nothing.
    if not text.strip() or text == "(no output)":
        return "I ran the code. It finished without printing anything." + files
    if text == "(failed with no output)":
        return "I ran the code, and it failed without printing anything." + files
    failed = _ERROR_LINE.search(text)
    head = "I ran the code, and it failed:" if failed else "I ran the code. Its output:"
    fence = "````" if "```" in text else "```"
    return f"{head}\n\n{fence}\n{text}\n{fence}{files}"


# -- rule 3-5: calling tools ------------------------------------------------------------


def _function_call(tool: ToolDef, text: str, functions: list[ToolDef]) -> tuple[str, str, str]:
    words = MessageWords.from_message(text, [t.name for t in functions if t.name])
    try:
        arguments = generate_arguments(tool.name, tool.parameters, words, strict=tool.strict)
    except ArgumentGenerationError as exc:
        raise ModelError("invalid_prompt", str(exc)) from None
    return ("function", tool.name, _dumps(arguments))


# -- rule 6: the echo ---------------------------------------------------------------


def _echo(request: ModelRequest, user: str | None) -> str:
    said = f"You said: {user}" if user is not None else "There is no user message to answer."
    fmt = request.response_format
    kind = fmt.get("type") if isinstance(fmt, dict) else fmt
    if kind == "json_object":
        return _dumps({"model": "local", "reply": said})
    if kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        label = f"response_format json_schema {spec.get('name', '')!r}".replace(" ''", "")
        try:
            value = generate_value(schema, MessageWords.from_message(user or ""), label=label)
        except ArgumentGenerationError as exc:
            raise ModelError("invalid_prompt", str(exc)) from None
        return _dumps(value)
    return f"{LABEL} {said}"


# -- helpers --------------------------------------------------------------------------


def _last_user_text(messages: list[ChatMessage]) -> str | None:
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return None


def truncate_tokens(text: str, limit: int) -> str:
    """The longest word-boundary prefix of ``text`` within ``limit`` tokens."""
    # Tokens never span whitespace and every piece but the last ends in it, so the
    # prefix's count is the sum of its pieces' counts: one pass, not a re-count per word.
    pieces: list[str] = []
    total = 0
    for piece in split_words(text):
        total += count_tokens(piece)
        if total > limit:
            break
        pieces.append(piece)
    return "".join(pieces)


_WORDS = re.compile(r"\s*\S+\s*|\s+")


def split_words(text: str) -> list[str]:
    """``text`` in word-sized pieces (each keeps its trailing whitespace); joined = text."""
    return _WORDS.findall(text)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _call_id(request: ModelRequest, index: int) -> str:
    """A stable id for the index-th call of this request: same request, same id."""
    h = hashlib.sha256()
    h.update(f"{request.thread_id}\0{request.run_id}\0{index}\0".encode())
    for m in request.messages:
        h.update(f"{m.role}\0{m.content}\0{m.tool_call_id}\0".encode())
        for c in m.tool_calls:
            h.update(f"{c.id}\0{c.name}\0{c.arguments}\0".encode())
    return "call_" + h.hexdigest()[:24]


def _argument(call: ToolCall, key: str) -> str:
    try:
        value = json.loads(call.arguments).get(key, "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _terms(query: str) -> list[str]:
    """Query terms to look for in passages: lowercased words, a plural "s" dropped;
    for Korean/CJK words, their character pairs (so "환불은" still finds "환불")."""
    terms: set[str] = set()
    for word in re.findall(r"[^\W_]+", query.lower()):
        if _CJK.search(word):
            terms.update(word[i : i + 2] for i in range(len(word) - 1))
        elif len(word) > 1:
            terms.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return sorted(terms)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(",;:") + "…"


def _names(tools: list[ToolDef]) -> str:
    return ", ".join(t.name for t in tools) or "none"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
