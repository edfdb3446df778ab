"""The SQLite tables behind vector stores and file search (created once per store).

- ``vs_files``: one row per file attached to a vector store (the "vector store file":
  status, attributes, chunking, errors). Its id on the wire is the file id, which is
  not unique across stores, so it cannot live in the generic ``objects`` table. ``seq``
  orders listings by attachment; ``gen`` changes on every (re)attach or cancel, so an
  indexing job that finishes after its file was re-attached, cancelled or detached
  does not write stale results.
- ``fs_parsed``: the text extracted from a file, once per file (files are immutable).
- ``fs_chunks``: the chunks of each attached file (per store: chunking may differ),
  with their length in terms; ``fs_stats`` keeps the chunk and term totals (for BM25's
  average length) in step with it.
- ``fs_fts``: FTS5 over the chunks' terms (see :mod:`search_terms`), rowid = chunk id;
  ``fs_vocab`` exposes its document frequencies for score normalisation.
"""

from __future__ import annotations

import weakref

from orchestrator.server.store import Store

_DDL = """
CREATE TABLE IF NOT EXISTS vs_files (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    vector_store_id TEXT NOT NULL,
    file_id         TEXT NOT NULL,
    batch_id        TEXT,
    status          TEXT NOT NULL,
    gen             INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    usage_bytes     INTEGER NOT NULL DEFAULT 0,
    attributes      TEXT NOT NULL DEFAULT '{}',
    chunking        TEXT NOT NULL,
    last_error      TEXT,
    UNIQUE (vector_store_id, file_id)
);
CREATE INDEX IF NOT EXISTS vs_files_file ON vs_files (file_id);
CREATE INDEX IF NOT EXISTS vs_files_batch ON vs_files (batch_id, seq);
CREATE INDEX IF NOT EXISTS vs_files_status ON vs_files (status);
CREATE TABLE IF NOT EXISTS fs_parsed (
    file_id  TEXT PRIMARY KEY,
    segments TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fs_chunks (
    id              INTEGER PRIMARY KEY,
    vector_store_id TEXT NOT NULL,
    file_id         TEXT NOT NULL,
    filename        TEXT NOT NULL,
    n               INTEGER NOT NULL,
    length          INTEGER NOT NULL,
    text            TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fs_stats (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    chunks INTEGER NOT NULL,
    terms  INTEGER NOT NULL
);
INSERT OR IGNORE INTO fs_stats (id, chunks, terms) VALUES (1, 0, 0);
CREATE INDEX IF NOT EXISTS fs_chunks_owner ON fs_chunks (vector_store_id, file_id, n);
CREATE VIRTUAL TABLE IF NOT EXISTS fs_fts USING fts5 (
    terms, tokenize = 'unicode61 remove_diacritics 0'
);
CREATE VIRTUAL TABLE IF NOT EXISTS fs_vocab USING fts5vocab (fs_fts, 'row');
"""

_ready: weakref.WeakSet[Store] = weakref.WeakSet()


def ensure(store: Store) -> None:
    """Create the tables on first use of ``store`` (idempotent)."""
    if store in _ready:
        return
    store.executescript(_DDL)
    _ready.add(store)
