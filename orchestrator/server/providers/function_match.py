"""Which offered function a user message asks for: by its name, or by the words that
describe it (English and Korean). Pure and deterministic; the local model's rule 3.

A function is **named** when the message contains its name as a whole identifier
(``display_quiz``, ``Display_Quiz``, ``display_quiz로``; not ``display_quizzes``).

Otherwise it is **described**, and scored, by the words the message shares with it:

- Words are taken from the function's name (split at ``_``, ``-`` and camelCase), its
  ``description`` and the ``description`` of each parameter (nested ones too).
- English words (3+ letters) are lowercased and stemmed (:func:`search_terms.stem`);
  two match when equal, or when one is the other plus at most three letters
  (``quiz`` ~ ``quizzes``, ``chart`` ~ ``charts``) and the shorter has 4+ letters.
- Korean (and other CJK) words are matched by their first two syllables, which skips
  the particles and endings glued to them (``퀴즈를`` ~ ``퀴즈에``, ``질문으로`` ~
  ``질문이``); one-syllable words are not matched.
- Stopwords and generic words that say nothing about *which* function is wanted
  (``get``, ``make``, ``return``, ``value``, ``만들``, ``반환``, ``하는`` ...) never match.
- Each distinct message word that matches counts 2 if it matches a word of the name,
  else 1 if it matches a word of a description.

The best-scoring function (score 1 or more) is called; a tie goes to the one offered
first. So "두 가지 질문으로 퀴즈를 만들어줘" calls a ``display_quiz`` described as
"학생에게 퀴즈를 표시하고 ..." (퀴즈, 질문), and "Make a quiz" calls it by its name's
word ``quiz``. Work is linear in the message and the descriptions (set look-ups and a
bisect per word), so a long message over many tools stays cheap.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.server.providers.argument_gen import name_pattern
from orchestrator.server.providers.base import ToolDef
from orchestrator.server.tools.chunking import CJK
from orchestrator.server.tools.search_terms import STOPWORDS, stem


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that appear in most function descriptions: they cannot tell functions apart.
GENERIC_WORDS = _word_set(
    """
    get set make create return returns use used using given value values list lists
    string strings number numbers object objects array arrays name names type types
    data item items function functions tool tools call calls run runs send show display
    user users result results input inputs output outputs text one two each new current
    optional required default can may must also like want need help let just
    """
)
GENERIC_KOREAN = _word_set(
    """
    하고 하는 하여 하기 하면 하세 하나 합니 해주 해줘 해요 했다 했습 있습 있는 있다 있으
    없는 없습 됩니 되는 되어 된다 주세 줘요 입니 그런 그리 다음 대한 대해 어떤 이것 그것
    저것 여러 모든 각각 경우 만들 만드 같은 위한 위해 통해 반환 표시 생성 사용 가져 보여
    알려 값을 값의 무엇 어떻 어떻게 지금 그냥 이제 좀더 우리 내가 제가 당신
    """
)
# A longer English word still matches a shorter one it extends by this many letters.
MAX_EXTRA_LETTERS = 3
MIN_PREFIX_LETTERS = 4

_RUN = re.compile(rf"[{CJK}]+|[^\W_{CJK}]+")
_CJK_START = re.compile(rf"[{CJK}]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class _Words:
    """One text's matchable words: English stems (sorted, for prefix look-ups) and
    two-syllable Korean/CJK keys."""

    latin: tuple[str, ...]
    cjk: frozenset[str]

    @classmethod
    def of(cls, texts: Sequence[str]) -> _Words:
        latin: set[str] = set()
        cjk: set[str] = set()
        for text in texts:
            for word in _words(text):
                if _CJK_START.match(word):
                    if len(word) >= 2 and word[:2] not in GENERIC_KOREAN:
                        cjk.add(word[:2])
                elif len(word) >= 3 and word not in STOPWORDS and word not in GENERIC_WORDS:
                    stemmed = stem(word)
                    if stemmed not in GENERIC_WORDS:
                        latin.add(stemmed)
        return cls(tuple(sorted(latin)), frozenset(cjk))

    def matches(self, other: _Words) -> set[str]:
        """The words of ``self`` that match a word of ``other``."""
        found = {w for w in self.cjk if w in other.cjk}
        theirs = set(other.latin)
        for word in self.latin:
            if word in theirs or _extends_one_of(word, theirs) or _extended_in(word, other.latin):
                found.add(word)
        return found


def _words(text: str) -> Iterator[str]:
    # camelCase splits before case folding; identifiers split at "_" via _RUN.
    for m in _RUN.finditer(unicodedata.normalize("NFKC", _CAMEL.sub(" ", text)).casefold()):
        yield m.group()


def _extends_one_of(word: str, words: set[str]) -> bool:
    """``word`` is a word of ``words`` plus up to MAX_EXTRA_LETTERS letters."""
    shortest = max(MIN_PREFIX_LETTERS, len(word) - MAX_EXTRA_LETTERS)
    return any(word[:k] in words for k in range(shortest, len(word)))


def _extended_in(word: str, ordered: tuple[str, ...]) -> bool:
    """Some word of ``ordered`` (sorted) is ``word`` plus up to MAX_EXTRA_LETTERS letters."""
    if len(word) < MIN_PREFIX_LETTERS:
        return False
    i = bisect.bisect_right(ordered, word)
    while i < len(ordered) and ordered[i].startswith(word):
        if len(ordered[i]) - len(word) <= MAX_EXTRA_LETTERS:
            return True
        i += 1
    return False


def _parameter_descriptions(schema: Any, depth: int = 0) -> Iterator[str]:
    """The ``description`` strings of a parameters schema, nested ones included."""
    if depth > 32:  # schemas are validated elsewhere; this only bounds the walk
        return
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "description" and isinstance(value, str):
                yield value
            elif key not in ("enum", "const", "default", "examples"):
                yield from _parameter_descriptions(value, depth + 1)
    elif isinstance(schema, list):
        for value in schema:
            yield from _parameter_descriptions(value, depth + 1)


def named_functions(functions: Sequence[ToolDef], text: str) -> list[ToolDef]:
    """The functions the message names, in the order it names them."""
    found: list[tuple[int, int, ToolDef]] = []
    for order, tool in enumerate(functions):
        m = name_pattern(tool.name).search(text) if tool.name else None
        if m:
            found.append((m.start(), order, tool))
    return [t for _, _, t in sorted(found, key=lambda f: (f[0], f[1]))]


def description_score(tool: ToolDef, message: str) -> int:
    """How well the message's words match the function's name words and descriptions."""
    said = _Words.of([message])
    return _score(said, tool)


def _score(said: _Words, tool: ToolDef) -> int:
    by_name = said.matches(_Words.of([tool.name]))
    described = [tool.description, *_parameter_descriptions(tool.parameters)]
    by_description = said.matches(_Words.of(described)) - by_name
    return 2 * len(by_name) + len(by_description)


def best_described(functions: Sequence[ToolDef], message: str) -> ToolDef | None:
    """The function whose words the message matches best (score 1+), first on a tie."""
    said = _Words.of([message])
    best: tuple[int, ToolDef] | None = None
    for tool in functions:
        score = _score(said, tool)
        if score >= 1 and (best is None or score > best[0]):
            best = (score, tool)
    return best[1] if best else None
