"""Links to the files the code interpreter wrote, and the annotations they get in replies.

The code runs with its working directory at ``/mnt/data``; a file it writes there is
kept (a stored file on the Assistants surface, a container file on Responses). The
model reads which files were written in the tool output (:func:`format_written`, the
line OpenAI's hosted models also see) and links them in its reply as
``sandbox:/mnt/data/<name>``, usually in a markdown link. Every mention of a written
file's path in the reply (``sandbox:/mnt/data/<name>`` or the bare ``/mnt/data/<name>``)
gets an annotation covering exactly that text (Python string indices, end exclusive):
``file_path`` on the Assistants surface (:func:`file_path_annotations`), whose
``file_id`` the client downloads with ``files.content``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MOUNT = "/mnt/data"  # where the code's working directory appears, as on OpenAI's
SCHEME = "sandbox:"
_WRITTEN = "Files written: "


def mount_path(path: str) -> str:
    """``/mnt/data/<path>`` for a path relative to the code's working directory."""
    return path if path.startswith(MOUNT + "/") else f"{MOUNT}/{path.lstrip('/')}"


def format_written(paths: list[str]) -> str:
    """The tool-output line naming the files the code wrote, as sandbox links."""
    return _WRITTEN + ", ".join(SCHEME + mount_path(p) for p in paths)


def split_written(output: str) -> tuple[str, list[str]]:
    """A code tool output without its :func:`format_written` line, and the links in it."""
    head, sep, line = output.rpartition("\n" + _WRITTEN)
    if not sep:
        if not output.startswith(_WRITTEN):
            return output, []
        head, line = "", output[len(_WRITTEN) :]
    if "\n" in line or not line.startswith(SCHEME):
        return output, []
    return head, [SCHEME + p for p in line[len(SCHEME) :].split(", " + SCHEME)]


def needles(links: Mapping[str, str]) -> dict[str, str]:
    """Every text that links a written file -> its file id (``links`` maps a path
    relative to the working directory, or under /mnt/data, to the file id)."""
    out = {}
    for path, file_id in links.items():
        full = mount_path(path)
        out[full] = file_id
        out[SCHEME + full] = file_id
    return out


def find_links(text: str, links: Mapping[str, str]) -> list[tuple[int, int, str]]:
    """(start, end, file_id) of every link to a written file in ``text``, in order."""
    found = needles(links)
    if not found or not text:
        return []
    # Longest first: "sandbox:/mnt/data/a.csv" wins over the bare path inside it, and
    # "a.csv.bak" over "a.csv".
    pattern = re.compile("|".join(re.escape(n) for n in sorted(found, key=len, reverse=True)))
    return [(m.start(), m.end(), found[m.group(0)]) for m in pattern.finditer(text)]


def file_path_annotations(text: str, links: Mapping[str, str]) -> list[dict[str, Any]]:
    """The Assistants surface's ``file_path`` annotations for ``text``."""
    return [
        {
            "type": "file_path",
            "text": text[start:end],
            "start_index": start,
            "end_index": end,
            "file_path": {"file_id": file_id},
        }
        for start, end, file_id in find_links(text, links)
    ]


def open_link_start(text: str, links: Mapping[str, str]) -> int:
    """Where an unfinished link to a written file may begin at the end of ``text``
    (its tail is a proper prefix of a link), else ``len(text)``: streaming holds the
    tail back so one delta carries the whole link and its annotation. A complete link
    that a longer one starts with ("a.csv" of "a.csv.bak") is held too."""
    found = needles(links)
    longest = max((len(n) for n in found), default=0)
    for start in range(max(0, len(text) - longest + 1), len(text)):
        tail = text[start:]
        if any(len(n) > len(tail) and n.startswith(tail) for n in found):
            return start
    return len(text)
