"""Server-sent events exactly as OpenAI frames them.

Each event is ``event: <name>\\ndata: <json>\\n\\n`` (one ``data:`` line: the JSON is
compact and has no raw line breaks); a stream ends with ``event: done`` /
``data: [DONE]``. A run's stream ends after the event that leaves the run waiting or
finished (``thread.run.requires_action`` or a terminal status). An internal error
shows as an ``error`` event (then the failed run, or the end of the stream).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from orchestrator.server.events import EventLog

log = logging.getLogger("orchestrator.server.sse")

# After these events the run produces nothing more until the client acts.
STOP_EVENTS = frozenset(
    {
        "thread.run.completed",
        "thread.run.incomplete",
        "thread.run.failed",
        "thread.run.cancelled",
        "thread.run.expired",
        "thread.run.requires_action",
    }
)

DONE = b"event: done\ndata: [DONE]\n\n"


def frame(event: str, data: Any) -> bytes:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # JSON escapes CR/LF, but a few clients also split lines on these separators.
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")
    return f"event: {event}\ndata: {text}\n\n".encode()


async def run_events(
    log: EventLog,
    run_id: str,
    after: int,
    *,
    transform: Callable[[str, Any], Any] | None = None,
) -> AsyncIterator[bytes]:
    """The SSE bytes of a run from event ``after`` on, until the run stops or waits.

    ``transform(event, data)`` may reshape an event's data on its way out (e.g. leave
    out file search result content the client did not ask for).
    """
    try:
        async for ev in log.follow(run_id, after):
            data = transform(ev.event, ev.data) if transform else ev.data
            yield frame(ev.event, data)
            if ev.event in STOP_EVENTS:
                break
    except Exception as exc:  # the stream itself broke: say so, in the stream
        log.exception("event stream of run %s failed", run_id)
        error = {
            "code": "server_error",
            "message": f"The event stream failed: {type(exc).__name__}. Retrieve the run to "
            "see its state.",
            "param": None,
            "type": "server_error",
        }
        yield frame("error", error)
    yield DONE


def sse_response(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
