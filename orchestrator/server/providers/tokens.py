"""Approximate token counts, with no tokenizer download (offline by design).

Good enough for ``usage`` and for budgets: roughly what OpenAI's BPE tokenizers
give for English prose (a word of up to five letters is one token, a longer one about
one per five characters), and one token per character for CJK scripts (Hangul, Han, Kana),
where BPE tokenizers spend about a token per syllable. Punctuation marks count one
each. The same text always gives the same count.
"""

from __future__ import annotations

import json
import math
import re

from orchestrator.server.providers.base import ChatMessage, ToolDef

# Words (Latin, digits, other non-CJK letters), single CJK characters, single other
# visible characters (punctuation, symbols).
_PIECES = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
    r"|[^\W_]+"
    r"|[^\s\w]|_",
    re.UNICODE,
)

# Per-message framing, as OpenAI counts chat messages (role and separators).
MESSAGE_OVERHEAD = 3
# Every reply is primed with the assistant's role.
REPLY_PRIMING = 3


def count_tokens(text: str) -> int:
    """Approximate number of tokens in ``text``."""
    total = 0
    for piece in _PIECES.findall(text):
        total += math.ceil(len(piece) / 5)
    return total


def message_tokens(message: ChatMessage) -> int:
    """Approximate tokens one message adds to a request (framing, content, tool calls)."""
    total = MESSAGE_OVERHEAD + count_tokens(message.content)
    for call in message.tool_calls:
        total += count_tokens(call.name) + count_tokens(call.arguments)
    return total


def estimate_tokens(messages: list[ChatMessage], tools: list[ToolDef]) -> int:
    """Approximate prompt tokens of a request (as the local model counts them)."""
    total = REPLY_PRIMING + sum(message_tokens(m) for m in messages)
    for tool in tools:
        total += count_tokens(tool.name) + count_tokens(tool.description)
        if tool.parameters:
            total += count_tokens(json.dumps(tool.parameters, ensure_ascii=False))
    return total
