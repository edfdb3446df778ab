"""Terraform's "Still creating... [10s elapsed]": off a terminal (CI logs), a line every
interval for each long activity, so a quiet log never looks hung.

The interval is ORCHESTRATOR_PROGRESS_INTERVAL (seconds, default 10; 0 turns the lines
off); on a terminal there are none (it has its own progress display).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import IO

INTERVAL_ENV = "ORCHESTRATOR_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 10.0


def heartbeat_interval(stream: IO[str], environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between "Still ..." lines on ``stream``; None: no such lines."""
    if stream.isatty():
        return None
    try:
        seconds = float(environ.get(INTERVAL_ENV, DEFAULT_INTERVAL))
    except ValueError:
        seconds = DEFAULT_INTERVAL
    return seconds if seconds > 0 else None


class Heartbeat:
    """Prints ``<label>: Still <verb>… [Ns elapsed]`` for each activity begun and not
    ended, every ``interval`` seconds (from a daemon thread started by the first one)."""

    def __init__(self, write: Callable[[str], None], interval: float | None) -> None:
        self._write = write
        self.interval = interval
        self._running: dict[Hashable, tuple[str, str, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self, key: Hashable, label: str, verb: str) -> None:
        if self.interval is None:
            return
        with self._lock:
            self._running[key] = (label, verb, time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
                self._thread.start()

    def end(self, key: Hashable) -> None:
        with self._lock:
            self._running.pop(key, None)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            with self._lock:
                lines = [
                    f"{label}: Still {verb}… [{now - since:.0f}s elapsed]"
                    for label, verb, since in self._running.values()
                ]
            for line in lines:
                self._write(line)
