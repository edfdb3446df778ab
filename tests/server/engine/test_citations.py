"""CitationStream: reply text cut into deltas that never split a citation marker."""

from __future__ import annotations

from orchestrator.server.engine.citations import MARKER_HOLD_LIMIT, CitationStream

SOURCES = {"【0:0†guide.md】": "file-1", "【0:1†faq.md】": "file-2"}


def _feed_all(stream: CitationStream, pieces: list[str]) -> list[tuple[str, list[dict]]]:
    out = []
    for piece in pieces:
        out += stream.feed(piece)
    return out + stream.flush()


def test_a_marker_split_across_pieces_arrives_whole_with_its_annotation() -> None:
    stream = CitationStream(SOURCES)
    pieces = ["Use X【0:", "0†gui", "de.md】 now, and Y【0:1†faq.md】."]
    deltas = _feed_all(stream, pieces)
    text = "".join(pieces)
    assert "".join(chunk for chunk, _ in deltas) == text
    # The open marker was held back: no delta ends inside one.
    assert [chunk for chunk, _ in deltas] == ["Use X", "【0:0†guide.md】 now, and Y【0:1†faq.md】."]
    notes = [n for _, marks in deltas for n in marks]
    assert [n["index"] for n in notes] == [0, 1]
    assert [n["file_citation"]["file_id"] for n in notes] == ["file-1", "file-2"]
    # Indexes point into the whole reply, not into the delta that carried the marker.
    for n in notes:
        assert text[n["start_index"] : n["end_index"]] == n["text"]
    assert [a["text"] for a in stream.annotate_all(text)] == [n["text"] for n in notes]


def test_without_sources_text_passes_straight_through() -> None:
    stream = CitationStream({})
    assert _feed_all(stream, ["a【0:", "0†guide.md】"]) == [("a【0:", []), ("0†guide.md】", [])]
    assert stream.annotate_all("a【0:0†guide.md】") == []


def test_an_unclosed_bracket_is_not_held_forever() -> None:
    stream = CitationStream(SOURCES)
    assert stream.feed("start 【") == [("start ", [])]
    long_tail = "x" * MARKER_HOLD_LIMIT
    [(chunk, marks)] = stream.feed(long_tail)
    assert chunk == "【" + long_tail and marks == []


LINKS = {"out.csv": "file-csv", "out.csv.bak": "file-bak"}


def test_a_link_split_across_pieces_arrives_whole_with_its_file_path() -> None:
    stream = CitationStream({}, LINKS)
    pieces = [
        "See [out.csv](sand",
        "box:/mnt/da",
        "ta/out.csv) and ",
        "sandbox:/mnt/data/out.csv",
        ".bak.",
    ]
    deltas = _feed_all(stream, pieces)
    text = "".join(pieces)
    assert "".join(chunk for chunk, _ in deltas) == text
    # No delta ends inside a link; a link that could still grow ("out.csv" -> ".bak")
    # waits for the next piece.
    assert [chunk for chunk, _ in deltas] == [
        "See [out.csv](",
        "sandbox:/mnt/data/out.csv) and ",
        "sandbox:/mnt/data/out.csv.bak.",
    ]
    notes = [n for _, marks in deltas for n in marks]
    assert [(n["index"], n["type"], n["file_path"]["file_id"]) for n in notes] == [
        (0, "file_path", "file-csv"),
        (1, "file_path", "file-bak"),
    ]
    for n in notes:
        assert text[n["start_index"] : n["end_index"]] == n["text"]
    assert [a["text"] for a in stream.annotate_all(text)] == [n["text"] for n in notes]
    assert stream.linked_files(text) == ["file-csv", "file-bak"]


def test_citations_and_links_share_one_annotation_order() -> None:
    stream = CitationStream(SOURCES, LINKS)
    text = "Saved /mnt/data/out.csv from【0:1†faq.md】, see sandbox:/mnt/data/out.csv."
    deltas = _feed_all(stream, [text[i : i + 7] for i in range(0, len(text), 7)])
    notes = [n for _, marks in deltas for n in marks]
    assert [(n["index"], n["type"], n["text"]) for n in notes] == [
        (0, "file_path", "/mnt/data/out.csv"),
        (1, "file_citation", "【0:1†faq.md】"),
        (2, "file_path", "sandbox:/mnt/data/out.csv"),
    ]
    assert [a["start_index"] for a in stream.annotate_all(text)] == [
        n["start_index"] for n in notes
    ]
