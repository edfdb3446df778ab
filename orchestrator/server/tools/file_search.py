"""File search: the chunk index (SQLite FTS5) and :func:`search` over vector stores.

Chunks are indexed by the terms of :mod:`search_terms` (word stems for English,
character bigrams for Korean/CJK). A search runs in two stages:

1. FTS5 finds the chunks containing any query term in the searched stores and keeps
   the best few dozen by its built-in BM25 (fast, in SQLite).
2. Those candidates are scored again with BM25 (k1 = 1.2, b = 0.75) using the
   always-positive IDF ``log(1 + (N - n + 0.5) / (n + 0.5))``. FTS5's own IDF is floored
   at ~0 for any term in half the chunks or more, which in a small store (two or three
   files, the common case) would make every term weightless.

Scores are normalised to 0..1 so ``score_threshold`` means the same for every query:
with ``s`` the BM25 score and ``m`` the sum of the query terms' IDFs (what a chunk of
average length containing each term once scores), ``score = 1 - exp(-1.5 * s / m)``.
A chunk with every query term once scores about 0.78, one with half of them (equally
rare) about 0.53; more occurrences or shorter chunks push towards 1. Results are
ordered by score. N, n and the average chunk length are over every chunk the server
has indexed.

When no chunk holds any query term (a Korean question over an English document, a
misspelling, a word form the stemmer does not fold), the search falls back to
character n-grams instead of answering nothing, as a semantic engine would: each of
the first :data:`FALLBACK_SCAN` chunks of the searched stores (and allowed files), in
index order, scores the share of the query's n-grams it contains
(:func:`search_terms.query_grams`), scaled by :data:`FALLBACK_SCALE`. So fallback
scores are at most 0.25 and say how little matched: 0.0 means not even a character
pair in common (the chunks are then the first ones of the stores, in order). They
are never mixed with BM25 results, and ``score_threshold`` applies to them as well.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from orchestrator.server.tools import index_tables
from orchestrator.server.tools.attribute_filters import matches
from orchestrator.server.tools.search_terms import gram_text, index_terms, query_grams, query_terms

if TYPE_CHECKING:
    from orchestrator.server.store import Store

# How steeply the normalised score approaches 1 (see the module docstring).
_SCORE_SLOPE = 1.5
_K1, _B = 1.2, 0.75
# The similarity fallback: how many chunks it reads at most, and its score ceiling.
FALLBACK_SCAN = 2000
FALLBACK_SCALE = 0.25


@dataclass
class SearchHit:
    file_id: str
    filename: str
    score: float  # 0..1, higher is better
    text: str  # the chunk's text
    attributes: dict[str, Any]
    vector_store_id: str


# -- the index (called by the indexing worker and the vector store service) ------------


def prepare(chunks: Sequence[str]) -> list[tuple[str, str, int]]:
    """Chunk texts with their index terms and lengths (CPU work, outside any transaction)."""
    return [(text, *index_terms(text)) for text in chunks]


def add_chunks(
    conn: sqlite3.Connection,
    vector_store_id: str,
    file_id: str,
    filename: str,
    chunks: Sequence[tuple[str, str, int]],
    first: int = 0,
) -> None:
    """Index ``chunks`` (``(text, terms, length)`` from :func:`prepare`), numbered from
    ``first``, as (part of) the file's content in the store (inside a transaction).
    Searches see them once the file is ``completed``."""
    total_terms = 0
    for n, (text, terms, length) in enumerate(chunks, start=first):
        total_terms += length
        cur = conn.execute(
            "INSERT INTO fs_chunks (vector_store_id, file_id, filename, n, length, text) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (vector_store_id, file_id, filename, n, length, text),
        )
        conn.execute("INSERT INTO fs_fts (rowid, terms) VALUES (?, ?)", (cur.lastrowid, terms))
    conn.execute(
        "UPDATE fs_stats SET chunks = chunks + ?, terms = terms + ? WHERE id = 1",
        (len(chunks), total_terms),
    )


def remove_chunks(
    conn: sqlite3.Connection, vector_store_id: str | None = None, file_id: str | None = None
) -> None:
    """Drop the chunks of one file in one store, of a whole store, or of a file everywhere."""
    where, args = [], []
    if vector_store_id is not None:
        where.append("vector_store_id = ?")
        args.append(vector_store_id)
    if file_id is not None:
        where.append("file_id = ?")
        args.append(file_id)
    if not where:
        raise ValueError("remove_chunks needs a vector store or a file")
    cond = " AND ".join(where)
    count, terms = conn.execute(
        f"SELECT count(*), total(length) FROM fs_chunks WHERE {cond}", args
    ).fetchone()
    if not count:
        return
    conn.execute(f"DELETE FROM fs_fts WHERE rowid IN (SELECT id FROM fs_chunks WHERE {cond})", args)
    conn.execute(f"DELETE FROM fs_chunks WHERE {cond}", args)
    conn.execute(
        "UPDATE fs_stats SET chunks = chunks - ?, terms = terms - ? WHERE id = 1",
        (count, int(terms)),
    )


def detach_file_everywhere(store: Store, file_id: str) -> None:
    """Remove a file from every store and drop its parsed text (the file is being deleted)."""
    index_tables.ensure(store)
    with store.transaction() as conn:
        remove_chunks(conn, file_id=file_id)
        conn.execute("DELETE FROM vs_files WHERE file_id = ?", (file_id,))
        conn.execute("DELETE FROM fs_parsed WHERE file_id = ?", (file_id,))


# -- search ------------------------------------------------------------------------------


def _idf(total: int, docs: int) -> float:
    return math.log(1.0 + (total - docs + 0.5) / (docs + 0.5))


def _bm25(counts: dict[str, int], length: int, idf: dict[str, float], avg_length: float) -> float:
    norm = _K1 * (1.0 - _B + _B * length / avg_length)
    score = 0.0
    for term, weight in idf.items():
        tf = counts.get(term, 0)
        if tf:
            score += weight * tf * (_K1 + 1.0) / (tf + norm)
    return score


def search(
    store: Store,
    vector_store_ids: list[str],
    query: str,
    *,
    max_num_results: int = 20,
    score_threshold: float = 0.0,
    filters: dict[str, Any] | None = None,
) -> list[SearchHit]:
    """The best chunks for ``query`` across the given vector stores, best first.

    The caller picks the stores: :func:`orchestrator.server.services.vector_stores.search`
    skips expired ones and marks the others used. ``filters`` (the spec's
    comparison/compound filter, already checked with ``attribute_filters.check_filter``)
    restricts the files by their attributes.
    """
    index_tables.ensure(store)
    live = list(dict.fromkeys(vector_store_ids))
    terms = query_terms(query)
    if not live or max_num_results < 1:
        return []
    limits = _Limits(max_num_results, score_threshold)
    with store.reading() as conn:
        allowed: list[str] | None = None
        if filters is not None:
            rows = conn.execute(
                "SELECT vector_store_id, file_id, attributes FROM vs_files "
                "WHERE status = 'completed' AND vector_store_id IN (SELECT value FROM json_each(?))",
                (json.dumps(live),),
            ).fetchall()
            allowed = [f"{r[0]} {r[1]}" for r in rows if matches(filters, json.loads(r[2]))]
            if not allowed:
                return []
        # Reads happen in the transaction; ranking (CPU work) after it, unlocked.
        rank = _bm25_search(conn, live, allowed, terms, limits) if terms else None
        if rank is None:
            rank = _similar(conn, live, allowed, query, limits)
    return rank()


@dataclass(frozen=True)
class _Limits:
    max_num_results: int
    score_threshold: float


def _scope(live: list[str], allowed: list[str] | None) -> tuple[str, list[Any]]:
    """SQL restricting chunks ``c`` to the searched stores (and allowed files)."""
    sql = "c.vector_store_id IN (SELECT value FROM json_each(?)) "
    args: list[Any] = [json.dumps(live)]
    if allowed is not None:
        sql += "AND (c.vector_store_id || ' ' || c.file_id) IN (SELECT value FROM json_each(?)) "
        args.append(json.dumps(allowed))
    return sql, args


def _hit(row: tuple[Any, ...], score: float) -> SearchHit:
    vs_id, file_id, filename, text, attributes = row
    return SearchHit(
        file_id=file_id,
        filename=filename,
        score=min(1.0, max(0.0, score)),
        text=text,
        attributes=json.loads(attributes),
        vector_store_id=vs_id,
    )


def _similar(
    conn: sqlite3.Connection,
    live: list[str],
    allowed: list[str] | None,
    query: str,
    limits: _Limits,
) -> Callable[[], list[SearchHit]]:
    """The n-gram fallback (module docstring): never empty while the stores have chunks."""
    grams = query_grams(query)
    scope, args = _scope(live, allowed)
    rows = conn.execute(
        "SELECT c.id, c.vector_store_id, c.file_id, c.filename, c.text, f.attributes "
        "FROM fs_chunks c JOIN vs_files f "
        "ON f.vector_store_id = c.vector_store_id AND f.file_id = c.file_id "
        f"AND f.status = 'completed' WHERE {scope}ORDER BY c.id LIMIT ?",
        [*args, FALLBACK_SCAN],
    ).fetchall()
    return partial(_rank_similar, rows, grams, limits)


def _rank_similar(rows: list[Any], grams: list[str], limits: _Limits) -> list[SearchHit]:
    scored = []
    for chunk_id, vs_id, file_id, filename, text, attributes in rows:
        haystack = gram_text(text)
        share = sum(g in haystack for g in grams) / len(grams) if grams else 0.0
        score = round(FALLBACK_SCALE * share, 6)
        scored.append((-score, chunk_id, (vs_id, file_id, filename, text, attributes), score))
    scored.sort(key=lambda s: (s[0], s[1]))
    return [
        _hit(row, score)
        for _, _, row, score in scored[: limits.max_num_results]
        if score >= limits.score_threshold
    ]


def _bm25_search(
    conn: sqlite3.Connection,
    live: list[str],
    allowed: list[str] | None,
    terms: list[str],
    limits: _Limits,
) -> Callable[[], list[SearchHit]] | None:
    """Both BM25 stages (module docstring); None when no chunk holds a query term."""
    match = " OR ".join(f'"{t}"' for t in terms)  # terms are letters/digits only
    candidates = min(500, max(50, 4 * limits.max_num_results))
    total, total_terms = conn.execute("SELECT chunks, terms FROM fs_stats WHERE id = 1").fetchone()
    placeholders = ",".join("?" * len(terms))
    docs = dict(
        conn.execute(
            f"SELECT term, doc FROM fs_vocab WHERE term IN ({placeholders})", terms
        ).fetchall()
    )
    # Stage 1: ids only, streamed in FTS5's rank order (no sort, no big columns)
    # until enough chunks of the searched stores (and allowed files) are found.
    scope, scope_args = _scope(live, allowed)
    sql = (
        "WITH m AS (SELECT rowid AS id, rank FROM fs_fts WHERE fs_fts MATCH ?) "
        f"SELECT c.id FROM m JOIN fs_chunks c ON c.id = m.id WHERE {scope}"
        "ORDER BY m.rank LIMIT ?"
    )
    ids = [r[0] for r in conn.execute(sql, [match, *scope_args, candidates]).fetchall()]
    # Stage 2: the candidates' text, terms and attributes; chunks of a file still being
    # indexed (written in batches) are left out.
    rows = conn.execute(
        "SELECT c.id, c.vector_store_id, c.file_id, c.filename, c.text, c.length, "
        "t.terms, f.attributes FROM fs_chunks c "
        "JOIN fs_fts t ON t.rowid = c.id "
        "JOIN vs_files f ON f.vector_store_id = c.vector_store_id AND f.file_id = c.file_id "
        "AND f.status = 'completed' WHERE c.id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),),
    ).fetchall()
    if not rows:
        return None
    return partial(_rank_bm25, rows, terms, docs, (total, total_terms), limits)


def _rank_bm25(
    rows: list[Any],
    terms: list[str],
    docs: dict[str, int],
    totals: tuple[int, int],
    limits: _Limits,
) -> list[SearchHit]:
    total, total_terms = totals
    total = max(total, 1)
    avg_length = max(total_terms / total, 1.0)
    idf = {t: _idf(total, docs.get(t, 0)) for t in terms}
    best = sum(idf.values())
    scored = []
    needles = {t: f" {t} " for t in terms}
    for chunk_id, vs_id, file_id, filename, text, length, chunk_terms, attributes in rows:
        # Whole-term counts of the query terms only: with every separator doubled, each
        # occurrence has its own spaces on both sides, so str.count sees all of them.
        padded = " " + chunk_terms.replace(" ", "  ") + " "
        counts = {t: padded.count(needle) for t, needle in needles.items()}
        s = _bm25(counts, length, idf, avg_length)
        scored.append((-s, chunk_id, vs_id, file_id, filename, text, attributes, s))
    scored.sort()
    hits = []
    for _, _, vs_id, file_id, filename, text, attributes, s in scored[: limits.max_num_results]:
        score = round(1.0 - math.exp(-_SCORE_SLOPE * s / best), 6) if best > 0 else 0.0
        if score < limits.score_threshold:
            break  # best first: the rest score no higher
        hits.append(_hit((vs_id, file_id, filename, text, attributes), score))
    return hits
