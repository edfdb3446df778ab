"""The terms the full-text index stores and queries, for English and Korean alike.

FTS5 only sees the space-separated terms made here (its ``unicode61`` tokenizer then
splits on the spaces), so documents and queries are tokenised by the same code and
the index vocabulary is exactly these terms:

- Text is NFKC-normalised and case-folded.
- Latin/other words: split at non-letters; a light English stemmer folds plurals and
  possessives ("policies" -> "policy", "returns" -> "return").
- Hangul, CJK ideographs and kana have no reliable word boundaries (Korean particles
  attach to nouns: "사과를" is "사과" + "를"), so such runs are indexed as overlapping
  character bigrams ("사과를" -> "사과", "과를") plus single characters. A query's run
  becomes its bigrams ("사과" -> "사과"), so it matches wherever its characters occur
  in that order, whatever particle follows; a one-character query run matches the
  single characters.

For the similarity fallback (a query none of whose terms is in the searched chunks),
:func:`query_grams` and :func:`gram_text` give character n-grams that need no whole
word in common: trigrams of each space-padded Latin word (" refund " -> " re", "ref",
..., "nd "), bigrams of each CJK run.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from orchestrator.server.tools.chunking import CJK

_RUN = re.compile(rf"[{CJK}]+|[^\W_{CJK}]+")
_CJK_START = re.compile(rf"[{CJK}]")

# Dropped from queries only (documents keep them, so phrases stay indexable).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "should",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "please",
        "tell",
        "give",
        "find",
        "show",
        "any",
        "some",
    ]
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: plurals and possessive endings only (predictable)."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def index_terms(text: str) -> tuple[str, int]:
    """The space-separated terms to index for ``text``, and its length for BM25.

    The length counts words and CJK characters once each (not the unigram+bigram
    expansion), so Korean text is not taken for twice as long as it is.
    """
    out: list[str] = []
    length = 0
    for m in _RUN.finditer(_normalise(text)):
        run = m.group()
        if _CJK_START.match(run):
            out.extend(run)  # unigrams
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
            length += len(run)
        else:
            out.append(stem(run))
            length += 1
    return " ".join(out), length


def query_terms(query: str) -> list[str]:
    """Distinct search terms of a query, in order; stopwords dropped unless nothing else is left."""
    terms: list[str] = []
    for m in _RUN.finditer(_normalise(query)):
        run = m.group()
        if _CJK_START.match(run):
            terms.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        else:
            terms.append(stem(run))
    distinct = list(dict.fromkeys(terms))
    content = [t for t in distinct if t not in STOPWORDS and not (len(t) == 1 and t.isascii())]
    return content or distinct


# At most this many distinct n-grams of a query are looked for (bounds the work).
MAX_QUERY_GRAMS = 256


def gram_text(text: str) -> str:
    """``text`` as the fallback compares it: normalised runs, one space apart and around."""
    return " " + " ".join(m.group() for m in _RUN.finditer(_normalise(text))) + " "


def query_grams(query: str) -> list[str]:
    """Distinct character n-grams of a query, in order (see the module docstring)."""
    grams: list[str] = []
    for m in _RUN.finditer(_normalise(query)):
        run = m.group()
        if _CJK_START.match(run):
            grams.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        elif not (run in STOPWORDS or (len(run) == 1 and run.isascii())):
            padded = f" {run} "
            grams.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return list(dict.fromkeys(grams))[:MAX_QUERY_GRAMS]
