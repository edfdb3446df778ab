"""Streaming cited text: reply text cut into deltas that never split a citation or a link.

The model cites file search results with markers (``【0:1†source】``, see
:mod:`orchestrator.server.tools.citations`) and links the files its code wrote as
``sandbox:/mnt/data/<name>`` (:mod:`orchestrator.server.tools.file_links`). A marker or
link split across two deltas could not be annotated, so :class:`CitationStream` holds
an open one back until it is complete and gives every delta the ``file_citation`` and
``file_path`` annotations of what it carries, with indexes into the whole reply. Wire-surface neutral: the Assistants
executor puts the pieces into ``thread.message.delta`` events; a Responses executor
can put them into ``response.output_text.delta`` / ``annotation.added`` events.
"""

from __future__ import annotations

from typing import Any

from orchestrator.server.tools.citations import annotate
from orchestrator.server.tools.file_links import file_path_annotations, open_link_start

# A citation marker is held back from a text delta until it is complete, so one delta
# carries the whole marker and its annotation; give up holding after this many chars.
MARKER_HOLD_LIMIT = 256

Piece = tuple[str, list[dict[str, Any]]]


class CitationStream:
    """Cuts reply text into deltas, each with the annotations of the markers and links
    it contains.

    ``sources`` maps the markers the model may cite to files (from the run's file
    searches so far), ``links`` the paths of the files the run's code wrote to their
    ids; with neither, text passes straight through.
    """

    def __init__(self, sources: dict[str, str], links: dict[str, str] | None = None) -> None:
        self.sources = sources
        self.links = links or {}
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
        if self.links:
            cut = min(cut, open_link_start(self.pending, self.links))
        return self._take(cut)

    def flush(self) -> list[Piece]:
        return self._take(len(self.pending))

    def annotate_all(self, text: str) -> list[dict[str, Any]]:
        """The annotations of the whole reply ``text`` (for the stored message), in the
        order of the text."""
        found = annotate(text, self.sources) if self.sources else []
        if self.links:
            found += file_path_annotations(text, self.links)
            found.sort(key=lambda a: a["start_index"])
        return found

    def linked_files(self, text: str) -> list[str]:
        """The ids of the written files ``text`` links, in order, each once."""
        ids = [a["file_path"]["file_id"] for a in file_path_annotations(text, self.links)]
        return list(dict.fromkeys(ids))

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
