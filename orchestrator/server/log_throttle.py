"""Rate-limited logging: a repeated error is logged a few times, then counted.

A flood of clients that all fail the same way (slow headers, refused connections, an
exhausted file table) must not turn into a flood of identical tracebacks that fills the
disk and hides everything else. Records are keyed by logger and message template; each
key may log ``burst`` records per ``window_seconds``; the first record of the next window
says how many were suppressed. Only the first record of a window keeps its traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# Loggers a network server writes repeated errors to: asyncio's accept loop, uvicorn's
# protocol errors, and the app's own unhandled errors.
THROTTLED_LOGGERS = ("asyncio", "uvicorn.error", "orchestrator.server")


class RepeatThrottle(logging.Filter):
    def __init__(
        self,
        burst: int = 5,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window_seconds = window_seconds
        self._clock = clock
        # key -> (window start, records logged in it, records suppressed in it)
        self._seen: dict[tuple[str, str], tuple[float, int, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self._clock()
        start, logged, suppressed = self._seen.get(key, (now, 0, 0))
        if now - start >= self.window_seconds:
            if suppressed:
                record.msg = f"{record.msg} ({suppressed} more like this suppressed)"
            start, logged, suppressed = now, 0, 0
        if logged < self.burst:
            if logged:
                record.exc_info, record.exc_text, record.stack_info = None, None, None
            self._seen[key] = (start, logged + 1, suppressed)
            return True
        self._seen[key] = (start, logged, suppressed + 1)
        if len(self._seen) > 1024:  # bounded memory under many distinct messages
            self._seen.pop(next(iter(self._seen)))
        return False


def throttle_repeated_errors(names: tuple[str, ...] = THROTTLED_LOGGERS) -> None:
    """Install one :class:`RepeatThrottle` on each logger (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatThrottle) for f in logger.filters):
            logger.addFilter(RepeatThrottle())
