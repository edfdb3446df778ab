"""File-search tool output for the model, and ``file_citation`` annotations from its reply.

The engine hands a ``file_search`` call's hits to the model as text made by
:func:`format_results`: one block per hit, headed by a marker such as
``【0:1†guide.md】`` (call index, rank, file name — the form OpenAI's hosted models
used). A model cites a passage by writing the marker itself in its reply;
:func:`annotate` then turns every known marker in the reply into a ``file_citation``
annotation whose ``start_index``/``end_index`` cover the marker (Python string indices,
end exclusive). :func:`parse_results` reverses :func:`format_results`, so a model (the
local one, or a test) can quote passages from a tool output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.server.tools.file_search import SearchHit

NO_RESULTS = "No results found for the query."

# A block header: the marker, then the score. Anchored at a line start so chunk text
# that merely mentions a marker mid-line is not taken for a new block.
_HEADER = re.compile(r"^(【(\d+):(\d+)†([^】\n]*)】) \(score [0-9.]+\)\n", re.MULTILINE)


@dataclass
class CitedSource:
    marker: str  # "【0:1†guide.md】"
    call_index: int  # which file_search call of the run (from 0)
    n: int  # the hit's rank within that call (from 0)
    filename: str
    text: str  # the chunk's text


def marker(call_index: int, n: int, filename: str) -> str:
    """The citation marker for hit ``n`` of file_search call ``call_index``."""
    return f"【{call_index}:{n}†{filename}】"


def format_results(call_index: int, hits: Sequence[SearchHit]) -> str:
    """The tool output text the model sees for one file_search call."""
    if not hits:
        return NO_RESULTS
    blocks = [
        f"{marker(call_index, n, hit.filename)} (score {hit.score:.2f})\n{hit.text}\n"
        for n, hit in enumerate(hits)
    ]
    return "\n".join(blocks)


def citation_sources(call_index: int, hits: Sequence[SearchHit]) -> dict[str, str]:
    """Marker -> file_id for one call's hits (what :func:`annotate` needs)."""
    return {marker(call_index, n, hit.filename): hit.file_id for n, hit in enumerate(hits)}


def parse_results(output: str) -> list[CitedSource]:
    """The hits of a :func:`format_results` output (empty for "no results" or other text)."""
    headers = list(_HEADER.finditer(output))
    out: list[CitedSource] = []
    for i, m in enumerate(headers):
        last = i == len(headers) - 1
        end = len(output) if last else headers[i + 1].start()
        text = output[m.end() : end]
        # Each block ends with "\n"; blocks are joined by one more "\n".
        if not last and text.endswith("\n\n"):
            text = text[:-2]
        elif text.endswith("\n"):
            text = text[:-1]
        out.append(
            CitedSource(
                marker=m.group(1),
                call_index=int(m.group(2)),
                n=int(m.group(3)),
                filename=m.group(4),
                text=text,
            )
        )
    return out


def annotate(text: str, sources: Mapping[str, str]) -> list[dict[str, Any]]:
    """``file_citation`` annotations for every occurrence of a known marker in ``text``.

    ``sources`` maps a marker to the cited file's id. Markers not in ``sources`` stay
    plain text without an annotation. Annotations come in the order of the text.
    """
    if not sources or not text:
        return []
    # Longest first, so a marker that is a prefix of another cannot shadow it.
    pattern = re.compile("|".join(re.escape(m) for m in sorted(sources, key=len, reverse=True)))
    return [
        {
            "type": "file_citation",
            "text": m.group(0),
            "start_index": m.start(),
            "end_index": m.end(),
            "file_citation": {"file_id": sources[m.group(0)]},
        }
        for m in pattern.finditer(text)
    ]
