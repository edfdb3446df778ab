"""Argument matchers: compare a tool call's actual arguments with an expectation.

An expectation value is one of:

- a plain scalar: equal to the actual value (``1 == 1.0``, but ``True`` is not ``1``);
- a plain mapping: a *subset* — every key present and matching, recursively; other
  keys of the actual object are ignored;
- a plain list: the same length, element by element;
- a matcher, a mapping with exactly one of these keys:
  ``{equals: v}`` (deep equality, no subset), ``{matches: regex}`` (``re.search`` on a
  string, else on its JSON), ``{contains: v}`` (substring of a string; an element of a
  list matching ``v``; a key of / subset of a mapping), ``{any: true}`` (present, any
  value).

:func:`match` returns ``None`` when the value matches, else a short reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

MATCHER_KEYS = frozenset({"equals", "matches", "contains", "any"})

_MISSING = object()


def is_matcher(expected: Any) -> bool:
    return (
        isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)) in MATCHER_KEYS
    )


def show(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(expected: Any) -> str:
    """The expectation as a reader would say it."""
    if is_matcher(expected):
        op, arg = next(iter(expected.items()))
        if op == "any":
            return "any value"
        if op == "matches":
            return f"matches /{arg}/"
        return f"{op} {show(arg)}"
    return show(expected)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=False))
    return type(a) is type(b) and a == b


def match(expected: Any, actual: Any, path: str = "") -> str | None:
    """``None`` if ``actual`` satisfies ``expected``, else why not (naming the path)."""
    where = path or "value"
    if actual is _MISSING:
        if is_matcher(expected) and "any" in expected and not expected["any"]:
            return None
        return f"{where} is missing (expected {describe(expected)})"
    if is_matcher(expected):
        op, arg = next(iter(expected.items()))
        if op == "any":
            return None if arg else f"{where} should be absent, got {show(actual)}"
        if op == "equals":
            return (
                None if _equal(arg, actual) else f"{where} is {show(actual)}, expected {show(arg)}"
            )
        if op == "matches":
            text = actual if isinstance(actual, str) else json.dumps(actual, ensure_ascii=False)
            try:
                ok = re.search(str(arg), text) is not None
            except re.error as exc:
                return f"{where}: the pattern /{arg}/ is not a valid regular expression ({exc})"
            return None if ok else f"{where} is {show(actual)}, which does not match /{arg}/"
        if op == "contains":
            return _contains(arg, actual, where)
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where} is {show(actual)}, expected an object with {show(expected)}"
        for key, sub in expected.items():
            reason = match(sub, actual.get(key, _MISSING), f"{path}.{key}" if path else str(key))
            if reason:
                return reason
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where} is {show(actual)}, expected {show(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            reason = match(e, a, f"{where}[{i}]")
            if reason:
                return reason
        return None
    return (
        None
        if _equal(expected, actual)
        else f"{where} is {show(actual)}, expected {show(expected)}"
    )


def _contains(needle: Any, actual: Any, where: str) -> str | None:
    if isinstance(actual, str):
        if isinstance(needle, str) and needle in actual:
            return None
        return f"{where} is {show(actual)}, which does not contain {show(needle)}"
    if isinstance(actual, list):
        if any(match(needle, item) is None for item in actual):
            return None
        return f"{where} is {show(actual)}, which has no element matching {describe(needle)}"
    if isinstance(actual, dict):
        if isinstance(needle, str) and needle in actual:
            return None
        if isinstance(needle, dict) and match(needle, actual) is None:
            return None
        return f"{where} is {show(actual)}, which does not contain {show(needle)}"
    return f"{where} is {show(actual)}, which cannot contain anything"


def match_arguments(expected: dict[str, Any] | None, actual: Any) -> str | None:
    """A call's arguments against an argument subset (``None``: any arguments)."""
    if expected is None:
        return None
    if not isinstance(actual, dict):
        return f"the arguments are not a JSON object ({show(actual)})"
    return match(expected, actual)
