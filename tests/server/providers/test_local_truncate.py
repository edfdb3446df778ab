"""``truncate_tokens`` (a reply cut at ``max_completion_tokens``): exact, in one pass."""

from __future__ import annotations

import pytest

from orchestrator.server.providers import local
from orchestrator.server.providers.tokens import count_tokens

TEXT = "Héllo, world!  Supercalifragilistic words_with_underscores 東京タワー 42.5 e-mail\n" * 40


def _naive(text: str, limit: int) -> str:
    out = ""
    for piece in local.split_words(text):
        if count_tokens(out + piece) > limit:
            break
        out += piece
    return out


@pytest.mark.parametrize("limit", [0, 1, 2, 7, 50, 333, 10**6])
def test_truncate_tokens_is_the_longest_prefix_within_the_limit(limit: int) -> None:
    for text in (TEXT, "  " + TEXT, TEXT.strip(), "", "   ", "one"):
        cut = local.truncate_tokens(text, limit)
        assert cut == _naive(text, limit)
        assert text.startswith(cut) and count_tokens(cut) <= limit


def test_truncate_tokens_reads_the_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for words in (1_000, 8_000):
        text = "lorem ipsum dolorsitamet, " * (words // 3)
        calls: list[int] = []

        def spy(s: str, calls: list[int] = calls) -> int:
            calls.append(len(s))
            return count_tokens(s)

        monkeypatch.setattr(local, "count_tokens", spy)
        cut = local.truncate_tokens(text, count_tokens(text) - 3)
        monkeypatch.undo()
        assert len(cut) < len(text)
        assert sum(calls) <= len(text), f"{sum(calls)} characters tokenised for {len(text)}"
        assert len(calls) <= len(local.split_words(text)) + 1
