"""The store's queries use an index where a list grows with a thread (no full scans)."""

from __future__ import annotations

from orchestrator.server.store import Store


def _plan(store: Store, sql: str, args: list[object]) -> str:
    with store.transaction() as c:
        rows = c.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()
    return " | ".join(r["detail"] for r in rows)


def test_messages_of_a_run_are_found_through_the_run_index() -> None:
    store = Store(None)
    for i in range(50):
        store.insert("message", {"id": f"msg_{i:03}", "run_id": f"run_{i % 5}"}, parent="thread_a")
    where, args = store._where("message", "thread_a", {"run_id": "run_2"})
    plan = _plan(store, f"SELECT data FROM objects WHERE {where} ORDER BY id DESC", args)
    assert "USING INDEX objects_kind_parent_run" in plan, plan
    assert "TEMP B-TREE" not in plan, f"the index should also give the order: {plan}"
    page = store.list("message", parent="thread_a", where={"run_id": "run_2"})
    assert [m["id"] for m in page.data] == [f"msg_{i:03}" for i in range(47, 0, -5)]
    assert [m["id"] for m in store.all("message", parent="thread_a", where={"run_id": None})] == []
