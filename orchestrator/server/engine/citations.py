"""Streaming cited text: reply text cut into deltas that never split a citation marker.

The model cites file search results with markers (``【0:1†source】``, see
:mod:`orchestrator.server.tools.citations`). A marker split across two deltas could
not be annotated, so :class:`CitationStream` holds an open marker back until it
closes and gives every delta the ``file_citation`` annotations of the markers it
carries, with indexes into the whole reply. Wire-surface neutral: the Assistants
executor puts the pieces into ``thread.message.delta`` events; a Responses executor
can put them into ``response.output_text.delta`` / ``annotation.added`` events.
"""

from __future__ import annotations

from typing import Any

from orchestrator.server.tools.citations import annotate

# A citation marker is held back from a text delta until it is complete, so one delta
# carries the whole marker and its annotation; give up holding after this many chars.
MARKER_HOLD_LIMIT = 256

Piece = tuple[str, list[dict[str, Any]]]


class CitationStream:
    """Cuts reply text into deltas, each with the annotations of the markers it contains.

    ``sources`` maps the markers the model may cite to files (from the run's file
    searches so far); with none, text passes straight through.
    """

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources
        self.emitted = 0  # characters sent so far
        self.pending = ""
        self.annotations = 0

    def feed(self, text: str) -> list[Piece]:
        self.pending += text
        cut = len(self.pending)
        if self.sources:
            start = self.pending.rfind("【")
            unclosed = start != -1 and "】" not in self.pending[start:]
            if unclosed and len(self.pending) - start < MARKER_HOLD_LIMIT:
                cut = start
        return self._take(cut)

    def flush(self) -> list[Piece]:
        return self._take(len(self.pending))

    def annotate_all(self, text: str) -> list[dict[str, Any]]:
        """The annotations of the whole reply ``text`` (for the stored message)."""
        return annotate(text, self.sources) if self.sources else []

    def _take(self, cut: int) -> list[Piece]:
        if cut <= 0:
            return []
        chunk, self.pending = self.pending[:cut], self.pending[cut:]
        annotations = []
        for ann in self.annotate_all(chunk):
            ann = {
                "index": self.annotations,
                **ann,
                "start_index": ann["start_index"] + self.emitted,
                "end_index": ann["end_index"] + self.emitted,
            }
            self.annotations += 1
            annotations.append(ann)
        self.emitted += len(chunk)
        return [(chunk, annotations)]
