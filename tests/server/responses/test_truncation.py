"""``truncation`` and ``reasoning`` through the real SDK, on a server whose model context
window is small (``ORCHESTRATOR_CONTEXT_WINDOW_TOKENS``) so a short chain outgrows it."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.support.wire_check import SpecChecker

WINDOW = 400
TURN = " ".join(f"fact{n} about the harbour" for n in range(30))  # ~120 tokens a turn


@pytest.fixture(scope="module")
def small_client(server_factory) -> Iterator[openai.OpenAI]:
    srv = server_factory(persistent=False, env={"ORCHESTRATOR_CONTEXT_WINDOW_TOKENS": str(WINDOW)})
    checker = SpecChecker()
    yield srv.client(checker)
    assert checker.checked and not checker.violations, checker.violations[:5]


def _chain(client: openai.OpenAI, turns: int) -> str:
    previous = None
    for n in range(turns):
        response = client.responses.create(
            model="local",
            input=f"turn {n}: {TURN}",
            previous_response_id=previous,
            truncation="auto",
        )
        assert response.status == "completed" and response.truncation == "auto"
        previous = response.id
    assert previous is not None
    return previous


def test_auto_drops_the_oldest_items_to_fit_the_window(small_client: openai.OpenAI) -> None:
    client = small_client
    previous = _chain(client, 4)
    # The whole chain plus this turn is well over the window...
    whole = client.responses.input_tokens.count(
        model="local", input=f"last: {TURN}", previous_response_id=previous
    )
    assert whole.input_tokens > WINDOW
    # ...yet the model saw a request that fits: the oldest turns were left out.
    last = client.responses.create(
        model="local", input=f"last: {TURN}", previous_response_id=previous, truncation="auto"
    )
    assert last.status == "completed"
    assert 0 < last.usage.input_tokens <= WINDOW
    # The stored chain is untouched: truncation is what the model sees, not a deletion.
    items = client.responses.input_items.list(previous).data
    assert [i.content[0].text for i in items if i.type == "message"] == [f"turn 3: {TURN}"]


def test_disabled_over_the_window_is_a_400_and_stores_nothing(small_client: openai.OpenAI) -> None:
    client = small_client
    previous = _chain(client, 4)
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="local", input=f"last: {TURN}", previous_response_id=previous)
    assert err.value.code == "context_length_exceeded"
    assert err.value.body["param"] == "input"
    assert f"{WINDOW} tokens" in err.value.message and "truncation" in err.value.message
    # The same turn fits once truncation is auto (nothing half-stored in between).
    again = client.responses.create(
        model="local", input=f"last: {TURN}", previous_response_id=previous, truncation="auto"
    )
    assert again.status == "completed"
    # A short turn on its own fits with truncation disabled (the default).
    plain = client.responses.create(model="local", input="hello")
    assert plain.status == "completed" and plain.truncation == "disabled"


def test_reasoning_is_accepted_and_echoed(small_client: openai.OpenAI) -> None:
    client = small_client
    response = client.responses.create(
        model="local", input="hello", reasoning={"effort": "low", "summary": "auto"}
    )
    assert response.reasoning is not None
    assert (response.reasoning.effort, response.reasoning.summary) == ("low", "auto")
    # The local model does not reason: no reasoning items, no reasoning tokens.
    assert [i.type for i in response.output] == ["message"]
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert client.responses.retrieve(response.id).reasoning == response.reasoning
    unset = client.responses.create(model="local", input="hello")
    assert unset.reasoning is not None
    assert (unset.reasoning.effort, unset.reasoning.summary) == (None, None)


def test_disabled_and_a_tool_output_past_the_window_fails_the_response(
    small_client: openai.OpenAI,
) -> None:
    # The input fits; the code's output, which the model would read next, does not.
    response = small_client.responses.create(
        model="local",
        input="```python\nprint(' '.join(f'row{n}' for n in range(600)))\n```",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
    )
    assert response.status == "failed"
    assert response.error is not None and response.error.code == "invalid_prompt"
    assert f"{WINDOW} tokens" in response.error.message
    assert [i.type for i in response.output] == ["code_interpreter_call"]
    # With truncation auto it is never refused: the oldest items go, the rest is sent.
    auto = small_client.responses.create(
        model="local",
        input="```python\nprint(' '.join(f'row{n}' for n in range(600)))\n```",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        truncation="auto",
    )
    assert auto.status == "completed"
