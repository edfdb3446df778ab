"""The code tool output's "Files written" line, and the links found in a reply."""

from __future__ import annotations

from orchestrator.server.tools.file_links import (
    file_path_annotations,
    format_written,
    open_link_start,
    split_written,
)


def test_the_written_line_round_trips() -> None:
    line = format_written(["a.csv", "sub/b, c.txt"])
    assert line == "Files written: sandbox:/mnt/data/a.csv, sandbox:/mnt/data/sub/b, c.txt"
    assert split_written("42\n" + line) == (
        "42",
        ["sandbox:/mnt/data/a.csv", "sandbox:/mnt/data/sub/b, c.txt"],
    )
    assert split_written(line) == (
        "",
        ["sandbox:/mnt/data/a.csv", "sandbox:/mnt/data/sub/b, c.txt"],
    )


def test_output_that_only_mentions_the_words_is_left_alone() -> None:
    for output in ("Files written: none", "Files written: sandbox:/x\nmore", "plain\nlogs"):
        assert split_written(output) == (output, [])


def test_file_path_annotations_cover_each_mention() -> None:
    text = "[a](sandbox:/mnt/data/a.csv), again /mnt/data/a.csv; not /mnt/data/b.csv"
    notes = file_path_annotations(text, {"a.csv": "file-a"})
    assert [(n["text"], n["file_path"]["file_id"]) for n in notes] == [
        ("sandbox:/mnt/data/a.csv", "file-a"),
        ("/mnt/data/a.csv", "file-a"),
    ]
    for n in notes:
        assert text[n["start_index"] : n["end_index"]] == n["text"]
    assert file_path_annotations(text, {}) == []


def test_open_link_start_holds_only_what_can_still_become_a_link() -> None:
    links = {"a.csv": "file-a"}
    assert open_link_start("see sandbox:/mnt/d", links) == 4
    assert open_link_start("see /mnt/data/a", links) == 4
    assert open_link_start("done.", links) == 5
    assert open_link_start("see sandbox:/mnt/data/a.csv", links) == len(
        "see sandbox:/mnt/data/a.csv"
    )
    assert open_link_start("x", {}) == 1
