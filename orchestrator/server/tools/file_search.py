"""File search: the chunk index (SQLite FTS5) and :func:`search` over vector stores.

Ranking is FTS5's BM25 over the terms of :mod:`search_terms` (word stems for
English, character bigrams for Korean/CJK). Scores are normalised to 0..1 per query,
so ``score_threshold`` means the same for every query: with ``s`` a chunk's BM25 score
and ``m`` the sum of the query terms' IDFs (what a chunk of average length containing
each term once scores), ``score = 1 - exp(-1.5 * s / m)``. A chunk with every query
term once scores about 0.78, one with half of them about 0.5, and more occurrences or
shorter chunks push towards 1. Ordering is by BM25, so scores never increase down the
list. IDFs are FTS5's, over every chunk the server has indexed.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.server.tools import index_tables
from orchestrator.server.tools.attribute_filters import matches
from orchestrator.server.tools.search_terms import index_terms, query_terms

if TYPE_CHECKING:
    from orchestrator.server.store import Store

# How steeply the normalised score approaches 1 (see the module docstring).
_SCORE_SLOPE = 1.5


@dataclass
class SearchHit:
    file_id: str
    filename: str
    score: float  # 0..1, higher is better
    text: str  # the chunk's text
    attributes: dict[str, Any]
    vector_store_id: str


# -- the index (called by the indexing worker and the vector store service) ------------


def prepare(chunks: Sequence[str]) -> list[tuple[str, str]]:
    """Chunk texts with their index terms (CPU work done outside any transaction)."""
    return [(text, index_terms(text)) for text in chunks]


def replace_chunks(
    conn: sqlite3.Connection,
    vector_store_id: str,
    file_id: str,
    filename: str,
    chunks: Sequence[tuple[str, str]],
) -> None:
    """Index ``chunks`` (``(text, terms)`` from :func:`prepare`) as the file's content in
    the store, replacing what was there (inside a transaction)."""
    remove_chunks(conn, vector_store_id, file_id)
    for n, (text, terms) in enumerate(chunks):
        cur = conn.execute(
            "INSERT INTO fs_chunks (vector_store_id, file_id, filename, n, text) "
            "VALUES (?, ?, ?, ?, ?)",
            (vector_store_id, file_id, filename, n, text),
        )
        conn.execute("INSERT INTO fs_fts (rowid, terms) VALUES (?, ?)", (cur.lastrowid, terms))


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
    conn.execute(f"DELETE FROM fs_fts WHERE rowid IN (SELECT id FROM fs_chunks WHERE {cond})", args)
    conn.execute(f"DELETE FROM fs_chunks WHERE {cond}", args)


# -- search ------------------------------------------------------------------------------


def _idf(total: int, docs: int) -> float:
    # FTS5's own IDF (including its floor), so `s / m` compares like with like.
    idf = math.log((total - docs + 0.5) / (docs + 0.5))
    return idf if idf > 0 else 1e-6


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

    Unknown and expired vector stores are skipped; the others count as used (their
    ``last_active_at`` moves to now). ``filters`` (the spec's comparison/compound
    filter, already checked with ``attribute_filters.check_filter``) restricts the files
    by their attributes.
    """
    from orchestrator.server.vector_store_files import usable_vector_stores

    index_tables.ensure(store)
    live = usable_vector_stores(store, vector_store_ids)
    terms = query_terms(query)
    if not live or not terms or max_num_results < 1:
        return []
    match = " OR ".join(f'"{t}"' for t in terms)  # terms are letters/digits only
    with store.transaction() as conn:
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
        total = conn.execute("SELECT count(*) FROM fs_chunks").fetchone()[0]
        placeholders = ",".join("?" * len(terms))
        docs = dict(
            conn.execute(
                f"SELECT term, doc FROM fs_vocab WHERE term IN ({placeholders})", terms
            ).fetchall()
        )
        best = sum(_idf(total, docs.get(t, 0)) for t in terms)
        sql = (
            "SELECT c.vector_store_id, c.file_id, c.filename, c.text, f.attributes, "
            "bm25(fs_fts) AS rank "
            "FROM fs_fts JOIN fs_chunks c ON c.id = fs_fts.rowid "
            "JOIN vs_files f ON f.vector_store_id = c.vector_store_id AND f.file_id = c.file_id "
            "WHERE fs_fts MATCH ? AND f.status = 'completed' "
            "AND c.vector_store_id IN (SELECT value FROM json_each(?)) "
        )
        args: list[Any] = [match, json.dumps(live)]
        if allowed is not None:
            sql += (
                "AND (c.vector_store_id || ' ' || c.file_id) IN (SELECT value FROM json_each(?)) "
            )
            args.append(json.dumps(allowed))
        sql += "ORDER BY rank, c.id LIMIT ?"
        args.append(max_num_results)
        rows = conn.execute(sql, args).fetchall()
    hits = []
    for vs_id, file_id, filename, text, attributes, rank in rows:
        score = 1.0 - math.exp(-_SCORE_SLOPE * max(0.0, -rank) / best) if best > 0 else 0.0
        score = round(min(1.0, max(0.0, score)), 6)
        if score < score_threshold:
            break  # best first: the rest score no higher
        hits.append(
            SearchHit(
                file_id=file_id,
                filename=filename,
                score=score,
                text=text,
                attributes=json.loads(attributes),
                vector_store_id=vs_id,
            )
        )
    return hits


def file_chunks(store: Store, vector_store_id: str, file_id: str) -> list[str]:
    """The indexed chunk texts of one file in one store, in order."""
    index_tables.ensure(store)
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT text FROM fs_chunks WHERE vector_store_id = ? AND file_id = ? ORDER BY n",
            (vector_store_id, file_id),
        ).fetchall()
    return [r[0] for r in rows]
