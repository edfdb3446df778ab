"""The file_search tool's execution: one query over a run's vector stores.

Wire-surface neutral: the result is the hits, the text the model reads and the
citation sources its markers resolve to; each surface records them in its own objects
(run step ``file_search`` results, or a Responses ``file_search_call`` item).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.server.services.vector_stores import search, wait_until_indexed
from orchestrator.server.tools.citations import citation_sources, format_results
from orchestrator.server.tools.file_search import SearchHit

if TYPE_CHECKING:
    from orchestrator.server.store import Store

DEFAULT_RANKER = "default_2024_08_21"
DEFAULT_MAX_RESULTS = 20


@dataclass
class FileSearchOutcome:
    hits: list[SearchHit]
    output: str  # what the model reads: the results in the citations format
    sources: dict[str, str]  # the markers this call adds, for annotating the reply


def ranking(options: dict[str, Any] | None) -> dict[str, Any]:
    """``ranking_options`` as reported back: the default ranker named, a float threshold."""
    options = options or {}
    ranker = options.get("ranker") or DEFAULT_RANKER
    if ranker == "auto":
        ranker = DEFAULT_RANKER
    return {"ranker": ranker, "score_threshold": float(options.get("score_threshold") or 0.0)}


async def run_file_search(
    store: Store,
    vector_store_ids: list[str],
    query: str,
    *,
    call_index: int,
    max_num_results: int | None,
    score_threshold: float,
    filters: dict[str, Any] | None = None,
) -> FileSearchOutcome:
    """Search ``query``; ``call_index`` numbers this call's citation markers (0, 1, ...
    per run), so replies can cite results of several searches apart. ``filters``: the
    Responses tool's attribute filter (already checked)."""
    # Like OpenAI: a search sees files attached just before it (e.g. message
    # attachments still being indexed), waiting a bounded time for them.
    await asyncio.to_thread(wait_until_indexed, store, vector_store_ids)
    hits = await asyncio.to_thread(
        search,
        store,
        vector_store_ids,
        query,
        max_num_results=max_num_results or DEFAULT_MAX_RESULTS,
        score_threshold=score_threshold,
        filters=filters,
    )
    return FileSearchOutcome(
        hits=hits,
        output=format_results(call_index, hits),
        sources=citation_sources(call_index, hits),
    )
