"""The repeat throttle: a few records per window, tracebacks once, then a count."""

from __future__ import annotations

import logging
import sys

from orchestrator.server.log_throttle import RepeatThrottle


def _record(msg: str) -> logging.LogRecord:
    try:
        raise OSError(24, "Too many open files")
    except OSError:
        exc = sys.exc_info()
    return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, exc)


def test_repeats_are_counted_after_the_burst() -> None:
    clock = [0.0]
    throttle = RepeatThrottle(burst=3, window_seconds=60, clock=lambda: clock[0])
    records = [_record("accept failed") for _ in range(1000)]
    passed = [r for r in records if throttle.filter(r)]
    assert len(passed) == 3
    assert [r.exc_info is not None for r in passed] == [True, False, False]
    # Another message has its own budget.
    assert throttle.filter(_record("something else"))

    clock[0] = 61.0
    nxt = _record("accept failed")
    assert throttle.filter(nxt)
    assert nxt.getMessage() == "accept failed (997 more like this suppressed)"
    assert nxt.exc_info is not None
