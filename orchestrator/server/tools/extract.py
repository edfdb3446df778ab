"""Text extraction for file search: PDF (pypdf), plain text, Markdown, JSON, CSV, HTML.

The file type comes from the file name's extension, and, for names without a known
one, from the bytes (``%PDF-`` magic, or decodable text). What cannot be turned into
text raises :class:`ExtractionError` with the ``last_error`` code a vector store file
reports: ``unsupported_file`` (a type we do not read, or no text in it) or
``invalid_file`` (a damaged file of a type we do read).
"""

from __future__ import annotations

import codecs
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath
from typing import Literal

TEXT_EXTENSIONS = frozenset(
    {
        ".txt", ".text", ".md", ".markdown", ".rst", ".csv", ".tsv", ".log", ".tex",
        ".xml", ".yaml", ".yml", ".toml", ".ini", ".cfg",
        ".py", ".js", ".ts", ".java", ".c", ".h", ".cpp", ".cs", ".go", ".rb", ".php",
        ".sh", ".css", ".sql", ".rs", ".kt", ".swift",
    }
)  # fmt: skip
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
JSON_EXTENSIONS = frozenset({".json", ".jsonl"})
SUPPORTED = "PDF, text, Markdown, JSON, CSV, HTML and source code"


class ExtractionError(Exception):
    def __init__(self, code: Literal["unsupported_file", "invalid_file"], message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Extracted:
    """A file's text: one segment per PDF page, a single segment for other types."""

    segments: list[str]

    @property
    def text(self) -> str:
        return "\n\n".join(s for s in self.segments if s)


def extract_text(filename: str, data: bytes) -> Extracted:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".pdf" or data[:5] == b"%PDF-":
        segments = _pdf(filename, data)
    elif suffix in HTML_EXTENSIONS:
        segments = [_html(_decode(filename, data))]
    elif suffix in JSON_EXTENSIONS:
        segments = [_json(filename, _decode(filename, data), jsonl=suffix == ".jsonl")]
    elif suffix in TEXT_EXTENSIONS or suffix == "":
        segments = [_decode(filename, data)]
    else:
        raise ExtractionError(
            "unsupported_file",
            f"File type '{suffix}' of '{filename}' is not supported for file search; "
            f"supported are {SUPPORTED}.",
        )
    segments = [_clean(s) for s in segments]
    if not any(s.strip() for s in segments):
        raise ExtractionError(
            "unsupported_file",
            f"No text could be extracted from '{filename}'"
            + (" (a scanned PDF without a text layer?)." if suffix == ".pdf" else "."),
        )
    return Extracted(segments)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # Collapse runs of blank lines and trailing spaces that extraction leaves behind.
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decode(filename: str, data: bytes) -> str:
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:8192]:
        raise ExtractionError(
            "unsupported_file",
            f"'{filename}' looks like a binary file; supported are {SUPPORTED}.",
        )
    # UTF-8 first; then CP949 (a superset of EUC-KR), common for Korean text files.
    for encoding in ("utf-8", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _pdf(filename: str, data: bytes) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError(
                "invalid_file", f"'{filename}' is an encrypted PDF; upload it without a password."
            )
        return [page.extract_text() or "" for page in reader.pages]
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(
            "invalid_file", f"'{filename}' could not be read as a PDF: {exc}"
        ) from None


def _json(filename: str, text: str, *, jsonl: bool) -> str:
    """JSON re-serialised readably (non-ASCII unescaped, so Korean text is searchable)."""
    lines = text.splitlines() if jsonl else [text]
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            where = f"line {n}" if jsonl else f"line {exc.lineno}, column {exc.colno}"  # type: ignore[attr-defined]
            raise ExtractionError(
                "invalid_file", f"'{filename}' is not valid JSON ({where}): {exc}"
            ) from None
        out.append(json.dumps(value, ensure_ascii=False, indent=None if jsonl else 2))
    return "\n".join(out)


class _TextOfHTML(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template"})
    _BLOCK = frozenset(
        {
            "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article",
            "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "title", "header",
            "footer", "dt", "dd", "hr",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html(text: str) -> str:
    parser = _TextOfHTML()
    parser.feed(text)
    parser.close()
    joined = "".join(parser.parts)
    return re.sub(r"[ \t]+", " ", joined)
