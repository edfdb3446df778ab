"""A run reads its thread's history once (issue 15): counted in decoded documents, so
reading it twice again fails deterministically, at any machine speed."""

from __future__ import annotations

import asyncio

from orchestrator.server.config import ServerConfig
from orchestrator.server.context import ServerContext
from orchestrator.server.objects import TERMINAL_RUN_STATUSES, new_message, text_part
from orchestrator.server.services.assistants import create_assistant
from orchestrator.server.services.runs import create_run
from orchestrator.server.services.threads import create_thread


async def _messages_read_by_one_run(history: int) -> tuple[int, str]:
    c = ServerContext.build(ServerConfig())
    await c.engine.start()
    try:
        assistant = create_assistant(c, {"model": "gpt-4o", "instructions": "Be brief."})
        thread = create_thread(c, {})
        for i in range(history):
            role = "user" if i % 2 == 0 else "assistant"
            content = [text_part(f"message {i} about the weather")]
            c.store.insert("message", new_message(thread["id"], role, content), thread["id"])
        before = c.store.decoded["message"]
        run = create_run(c, thread["id"], {"assistant_id": assistant["id"]})
        while (status := c.store.require("run", run["id"])["status"]) not in TERMINAL_RUN_STATUSES:
            await asyncio.sleep(0.01)
        return c.store.decoded["message"] - before, status
    finally:
        await c.engine.stop()
        c.store.close()


def test_a_run_decodes_each_history_message_once() -> None:
    small, small_status = asyncio.run(_messages_read_by_one_run(100))
    large, large_status = asyncio.run(_messages_read_by_one_run(300))
    assert small_status == large_status == "completed"
    # 200 more messages in the thread cost exactly 200 more decoded messages: one read.
    assert large - small == 200, (small, large)
