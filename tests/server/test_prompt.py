"""Prompt truncation (``max_prompt_tokens``): the right messages kept, in one pass."""

from __future__ import annotations

import pytest

from orchestrator.server import prompt
from orchestrator.server.providers import tokens
from orchestrator.server.providers.base import ChatMessage, ToolCall, ToolDef
from orchestrator.server.providers.tokens import count_tokens

TOOLS = [
    ToolDef(
        type="function", name="lookup", description="Look a word up.", parameters={"type": "object"}
    )
]
SYSTEM = [ChatMessage(role="system", content="Answer briefly.")]


def _thread(n: int) -> list[ChatMessage]:
    out = []
    for i in range(n):
        if i % 7 == 3:
            call = ToolCall(id=f"call_{i}", type="function", name="lookup", arguments='{"w": 1}')
            out.append(ChatMessage(role="assistant", content="", tool_calls=[call]))
        else:
            out.append(ChatMessage(role="user", content=f"message number {i} " * (1 + i % 5)))
    return out


class TokenSpy:
    """Counts the characters the token estimate reads (a re-count shows up as growth)."""

    def __init__(self) -> None:
        self.chars = 0

    def __call__(self, text: str) -> int:
        self.chars += len(text)
        return count_tokens(text)


@pytest.mark.parametrize("budget", [60, 400, 5_000, 10**9])
def test_truncate_keeps_the_newest_messages_that_fit(budget: int) -> None:
    history = _thread(200)
    kept = prompt.truncate(history, SYSTEM, TOOLS, None, budget)
    assert kept == history[len(history) - len(kept) :], "kept must be a suffix of the thread"
    assert len(kept) >= 1, "the most recent message always stays"
    if len(kept) > 1:
        assert prompt.estimate_tokens(SYSTEM + kept, TOOLS) <= budget
    if len(kept) < len(history):
        one_more = history[len(history) - len(kept) - 1 :]
        assert prompt.estimate_tokens(SYSTEM + one_more, TOOLS) > budget


def test_truncate_reads_each_message_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """O(N) token counting for a thread of N messages, however many are dropped."""
    read: dict[int, int] = {}
    for n in (100, 1_000):
        history = _thread(n)
        spy = TokenSpy()
        monkeypatch.setattr(tokens, "count_tokens", spy)  # where the estimate counts
        kept = prompt.truncate(history, SYSTEM, TOOLS, None, budget=50)
        monkeypatch.undo()
        assert len(kept) < 5, "nearly all messages dropped: the worst case for a re-count"
        read[n] = spy.chars
        text = sum(
            len(m.content) + sum(len(c.arguments) + 6 for c in m.tool_calls) for m in history
        )
        assert spy.chars <= text + 200, f"{spy.chars} characters read for {text} of thread"
    assert read[1_000] < 15 * read[100], f"token counting grows faster than the thread: {read}"
