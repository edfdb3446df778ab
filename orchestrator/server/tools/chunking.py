"""The spec's static chunking strategy, with a local token approximation.

Text is cut into windows of at most ``max_chunk_size_tokens`` tokens, each starting
``max_chunk_size_tokens - chunk_overlap_tokens`` tokens after the previous one (800
and 400 by default; ``auto`` means those), always at a word boundary; a chunk's text is
the original text between its first and last unit, whitespace and newlines included.

Tokens are approximated locally, with no tokenizer to download: a word (a run of
letters/digits) counts one token per 5 characters, rounded up — close to what
OpenAI's BPE tokenizers give for English prose (~1.3 tokens a word); each CJK
character or Hangul syllable counts one token; every other non-space symbol one token;
whitespace none. Words longer than 64 characters are split, so one unit never
overflows a chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from orchestrator.server.errors import invalid

DEFAULT_MAX_TOKENS = 800
DEFAULT_OVERLAP_TOKENS = 400

# Hangul (syllables and jamo), CJK ideographs, kana.
CJK = "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff"
_UNIT = re.compile(rf"[{CJK}]|[^\W{CJK}]{{1,64}}|[^\w\s]")


@dataclass(frozen=True)
class ChunkingStrategy:
    max_chunk_size_tokens: int = DEFAULT_MAX_TOKENS
    chunk_overlap_tokens: int = DEFAULT_OVERLAP_TOKENS

    def wire(self) -> dict[str, Any]:
        """As a vector store file reports it (``auto`` is reported as the static defaults)."""
        return {
            "type": "static",
            "static": {
                "max_chunk_size_tokens": self.max_chunk_size_tokens,
                "chunk_overlap_tokens": self.chunk_overlap_tokens,
            },
        }

    @classmethod
    def from_request(
        cls, value: dict[str, Any] | None, param: str = "chunking_strategy"
    ) -> ChunkingStrategy:
        """Read a (schema-validated) ``chunking_strategy`` request parameter."""
        if not value or value.get("type") == "auto":
            return cls()
        static = value.get("static") or {}
        size = int(static.get("max_chunk_size_tokens", DEFAULT_MAX_TOKENS))
        overlap = int(static.get("chunk_overlap_tokens", DEFAULT_OVERLAP_TOKENS))
        if not 100 <= size <= 4096:
            raise invalid(
                f"Invalid '{param}.static.max_chunk_size_tokens': {size}; it must be "
                "between 100 and 4096.",
                param=f"{param}.static.max_chunk_size_tokens",
            )
        if overlap < 0 or overlap > size // 2:
            raise invalid(
                f"Invalid '{param}.static.chunk_overlap_tokens': {overlap}; it must be "
                f"at least 0 and not exceed half of max_chunk_size_tokens ({size // 2}).",
                param=f"{param}.static.chunk_overlap_tokens",
            )
        return cls(size, overlap)

    @classmethod
    def from_wire(cls, value: dict[str, Any]) -> ChunkingStrategy:
        static = value["static"]
        return cls(static["max_chunk_size_tokens"], static["chunk_overlap_tokens"])


@dataclass
class Chunk:
    text: str
    tokens: int
    start: int  # character offsets into the source text
    end: int


def _unit_tokens(unit: str) -> int:
    if len(unit) == 1:
        return 1
    return (len(unit) + 4) // 5


def count_tokens(text: str) -> int:
    """Approximate token count of ``text`` (see the module docstring)."""
    return sum(_unit_tokens(m.group()) for m in _UNIT.finditer(text))


def chunk_text(text: str, strategy: ChunkingStrategy | None = None) -> list[Chunk]:
    """Cut ``text`` into overlapping chunks per ``strategy`` (the defaults if None)."""
    s = strategy or ChunkingStrategy()
    starts: list[int] = []
    ends: list[int] = []
    cum = [0]  # cum[i] = tokens before unit i
    for m in _UNIT.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
        cum.append(cum[-1] + _unit_tokens(m.group()))
    n = len(starts)
    chunks: list[Chunk] = []
    step = s.max_chunk_size_tokens - s.chunk_overlap_tokens
    i = 0
    j = 0
    while i < n:
        # Extend the window to as many units as fit (at least one).
        j = max(j, i + 1)
        while j < n and cum[j + 1] - cum[i] <= s.max_chunk_size_tokens:
            j += 1
        chunks.append(
            Chunk(
                text=text[starts[i] : ends[j - 1]],
                tokens=cum[j] - cum[i],
                start=starts[i],
                end=ends[j - 1],
            )
        )
        if j >= n:
            break
        # The next window starts `step` tokens later (always at least one unit on).
        target = cum[i] + step
        k = i + 1
        while k < j and cum[k] < target:
            k += 1
        i = k
    return chunks
