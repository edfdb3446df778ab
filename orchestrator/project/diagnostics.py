"""Collecting problems: the loader reports every one it finds instead of raising."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from orchestrator.project.specs import Diagnostic, Location


class Diagnostics:
    """An append-only list of diagnostics with helpers for the common cases."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic(location, message, "error"))

    def warning(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic(location, message, "warning"))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.items)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest option, or '' when nothing is close."""
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""
