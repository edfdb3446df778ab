"""One turn of a conversation with an assistant's profile, over the Responses API.

:func:`respond` sends the user's text with the profile's parameters on a Conversation,
then answers every ``function_call`` the model makes with the registered ``@handler`` of
that name — arguments checked against the function's JSON Schema first, exactly as the
scenario runner does (:func:`orchestrator.scenarios.handlers.answer_call`) — and sends
the outputs back as ``function_call_output`` items until the model replies with text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from orchestrator.runtime.profiles import Profile
from orchestrator.scenarios.handlers import (
    HandlerContext,
    HandlerFailure,
    answer_call,
    load_handler_module,
)

# Function-call rounds in one turn before it counts as a loop.
MAX_ROUNDS = 8


class RespondError(Exception):
    """The turn could not finish: a function call had no handler, bad arguments, or its
    handler failed (``failure`` says which); or the model kept calling functions."""

    def __init__(self, message: str, failure: HandlerFailure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: dict[str, Any]
    output: str
    call_id: str


@dataclass
class Reply:
    """The assistant's answer: its text, the last response, and the calls it made."""

    text: str
    response: Any = field(repr=False)
    calls: list[FunctionCall] = field(default_factory=list)


def _conversation_id(conversation: Any) -> str:
    return conversation if isinstance(conversation, str) else conversation.id


def respond(
    client: openai.OpenAI,
    profile: Profile,
    conversation: Any,
    user_text: str,
    handlers: Iterable[str | Path] = (),
    *,
    max_rounds: int = MAX_ROUNDS,
) -> Reply:
    """Play one user turn on ``conversation`` (an id or a Conversation) with ``profile``.

    ``handlers``: handler modules to load (as a scenario's ``handlers:`` lists them); their
    handlers win, else any ``@handler`` registered by code the application imported.
    Synchronous; from async code, call it in a worker thread.
    """
    modules = [Path(m).resolve() for m in handlers]
    conv = _conversation_id(conversation)
    response = client.responses.create(**profile.request, conversation=conv, input=user_text)
    calls: list[FunctionCall] = []
    for _ in range(max_rounds):
        _check(profile, response)
        pending = [item for item in response.output if item.type == "function_call"]
        if not pending:
            return Reply(text=response.output_text, response=response, calls=calls)
        outputs = []
        for item in pending:
            output = call_handler(
                profile, item, modules, conversation_id=conv, response_id=response.id
            )
            calls.append(
                FunctionCall(item.name, json.loads(item.arguments or "{}"), output, item.call_id)
            )
            outputs.append(
                {"type": "function_call_output", "call_id": item.call_id, "output": output}
            )
        response = client.responses.create(**profile.request, conversation=conv, input=outputs)
    raise RespondError(
        f"{profile.key}: the model was still calling functions after {max_rounds} rounds "
        f"({', '.join(c.name for c in calls[-max_rounds:])})"
    )


def _check(profile: Profile, response: Any) -> None:
    """A response that did not complete ends the turn with the server's reason."""
    if response.status in (None, "completed"):
        return
    error = getattr(response, "error", None)
    why = f": {error.message}" if error is not None and error.message else ""
    raise RespondError(f"{profile.key}: response {response.id} is {response.status}{why}")


def call_handler(
    profile: Profile,
    call: Any,
    handlers: Iterable[str | Path] = (),
    *,
    conversation_id: str = "",
    response_id: str = "",
) -> str:
    """Answer one ``function_call`` item with its handler: the output text.

    The arguments are checked against the function's schema in ``profile`` first; a
    missing handler, bad arguments or a failing handler raise :class:`RespondError`.
    """
    modules = [Path(m).resolve() for m in handlers]
    for module in modules:
        load_handler_module(module)  # once per process
    schema = profile.function_schema(call.name)
    context = HandlerContext(
        thread_id=conversation_id,
        run_id=response_id,
        scenario=profile.key,
        tool_call_id=call.call_id,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RespondError(
            "respond() is synchronous and an event loop is running in this thread: "
            "call it with asyncio.to_thread(respond, ...)"
        )
    answer = asyncio.run(
        answer_call(
            call.name,
            call.arguments or "",
            schema=schema,
            modules=modules,
            mocks={},
            context=context,
        )
    )
    if answer.failure is not None:
        raise RespondError(answer.failure.render(), answer.failure)
    assert answer.output is not None
    return answer.output
