"""Ordered item lists: a conversation's items and a response's input items.

Items of different types have different id prefixes (``msg_``, ``fc_``, ...), so their
ids do not sort by time across types; this table keeps each owner's items in the order
they were added (``seq``), and pages by that order with OpenAI's ``after`` cursor (an
item id). The owner is a conversation id or a response id.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.server.errors import invalid
from orchestrator.server.store import Order, Page, Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    owner TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    id    TEXT NOT NULL,
    data  TEXT NOT NULL,
    PRIMARY KEY (owner, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS items_owner_id ON items (owner, id);
CREATE INDEX IF NOT EXISTS items_id ON items (id);
"""


def ensure(store: Store) -> None:
    store.executescript(_SCHEMA)


def append(store: Store, owner: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``items`` (each with an ``id``) after the owner's last item, in one transaction."""
    if not items:
        return items
    with store.transaction() as c:
        row = c.execute("SELECT MAX(seq) FROM items WHERE owner = ?", (owner,)).fetchone()
        seq = (row[0] if row[0] is not None else -1) + 1
        c.executemany(
            "INSERT INTO items (owner, seq, id, data) VALUES (?, ?, ?, ?)",
            [
                (owner, seq + n, item["id"], json.dumps(item, ensure_ascii=False))
                for n, item in enumerate(items)
            ],
        )
    return items


def page(store: Store, owner: str, *, limit: int, order: Order, after: str | None) -> Page:
    if not 1 <= limit <= 100:
        raise invalid("Invalid 'limit': integer must be between 1 and 100.", param="limit")
    if order not in ("asc", "desc"):
        raise invalid("Invalid 'order': expected 'asc' or 'desc'.", param="order")
    sql, args = "owner = ?", [owner]
    with store.transaction() as c:
        if after is not None:
            row = c.execute(
                "SELECT seq FROM items WHERE owner = ? AND id = ?", (owner, after)
            ).fetchone()
            if row is None:
                raise invalid(f"No item found with id '{after}'.", param="after")
            sql += " AND seq > ?" if order == "asc" else " AND seq < ?"
            args.append(row[0])
        direction = "ASC" if order == "asc" else "DESC"
        rows = c.execute(
            f"SELECT data FROM items WHERE {sql} ORDER BY seq {direction} LIMIT ?",
            [*args, limit + 1],
        ).fetchall()
    return Page(data=[json.loads(r[0]) for r in rows[:limit]], has_more=len(rows) > limit)


def all_items(store: Store, owner: str) -> list[dict[str, Any]]:
    """Every item of the owner, oldest first."""
    with store.transaction() as c:
        rows = c.execute(
            "SELECT data FROM items WHERE owner = ? ORDER BY seq ASC", (owner,)
        ).fetchall()
    return [json.loads(r[0]) for r in rows]


def get(store: Store, owner: str, item_id: str) -> dict[str, Any] | None:
    with store.transaction() as c:
        row = c.execute(
            "SELECT data FROM items WHERE owner = ? AND id = ?", (owner, item_id)
        ).fetchone()
    return json.loads(row[0]) if row else None


def find(store: Store, item_id: str) -> dict[str, Any] | None:
    """An item by id wherever it was stored (for ``item_reference`` inputs)."""
    with store.transaction() as c:
        row = c.execute("SELECT data FROM items WHERE id = ? LIMIT 1", (item_id,)).fetchone()
    return json.loads(row[0]) if row else None


def delete(store: Store, owner: str, item_id: str) -> bool:
    with store.transaction() as c:
        cur = c.execute("DELETE FROM items WHERE owner = ? AND id = ?", (owner, item_id))
    return cur.rowcount > 0


def delete_owner(store: Store, owner: str) -> int:
    with store.transaction() as c:
        cur = c.execute("DELETE FROM items WHERE owner = ?", (owner,))
    return cur.rowcount
