"""Attribute filters of ``vector_stores/{id}/search`` (the spec's ComparisonFilter / CompoundFilter).

A comparison ``{"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key", "value"}``
tests one attribute of a vector store file; a compound ``{"type": "and"|"or",
"filters": [...]}`` combines filters. A file without the attribute matches only
``ne`` and ``nin`` (it is not equal to, and not in, anything). Ordering comparisons
between a string and a number are false rather than errors, as are comparisons with
booleans other than ``eq``/``ne``.
"""

from __future__ import annotations

from typing import Any

from orchestrator.server.errors import invalid

_COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")


def check_filter(f: Any, param: str = "filters") -> None:
    """Reject filters the schema allows but that cannot be evaluated (400 naming the param)."""
    if not isinstance(f, dict):
        raise invalid(f"Invalid '{param}': expected an object.", param=param)
    kind = f.get("type")
    allowed = {"type", "filters"} if kind in ("and", "or") else {"type", "key", "value"}
    extra = sorted(set(f) - allowed)
    if extra:
        raise invalid(
            f"Unrecognized request argument supplied: {param}.{extra[0]}",
            param=f"{param}.{extra[0]}",
        )
    if kind in ("and", "or"):
        subs = f.get("filters")
        if not isinstance(subs, list):
            raise invalid(
                f"Invalid '{param}.filters': expected an array.", param=f"{param}.filters"
            )
        for i, sub in enumerate(subs):
            check_filter(sub, f"{param}.filters[{i}]")
        return
    if kind not in _COMPARISONS:
        raise invalid(
            f"Invalid '{param}.type': {kind!r}; expected one of "
            f"{', '.join([*_COMPARISONS, 'and', 'or'])}.",
            param=f"{param}.type",
        )
    if not isinstance(f.get("key"), str):
        raise invalid(f"Missing required parameter: '{param}.key'.", param=f"{param}.key")
    if "value" not in f:
        raise invalid(f"Missing required parameter: '{param}.value'.", param=f"{param}.value")
    value = f["value"]
    scalars = (str, int, float, bool)
    if not isinstance(value, (*scalars, list)) or (
        isinstance(value, list)
        and not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise invalid(
            f"Invalid '{param}.value': expected a string, number or boolean, or an array of "
            "strings and numbers.",
            param=f"{param}.value",
        )
    if kind in ("in", "nin") and not isinstance(value, list):
        raise invalid(
            f"Invalid '{param}.value': '{kind}' needs an array of values.", param=f"{param}.value"
        )
    if kind not in ("in", "nin") and isinstance(value, list):
        raise invalid(
            f"Invalid '{param}.value': an array is only allowed with 'in' and 'nin'.",
            param=f"{param}.value",
        )


def _same_kind(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return True
    return isinstance(a, str) and isinstance(b, str)


def _equal(a: Any, b: Any) -> bool:
    return _same_kind(a, b) and a == b


def matches(f: dict[str, Any], attributes: dict[str, Any] | None) -> bool:
    """Whether a file with ``attributes`` passes filter ``f`` (already checked)."""
    kind = f["type"]
    if kind == "and":
        return all(matches(sub, attributes) for sub in f["filters"])
    if kind == "or":
        return any(matches(sub, attributes) for sub in f["filters"])
    attrs = attributes or {}
    value = f["value"]
    if f["key"] not in attrs:
        return kind in ("ne", "nin")
    have = attrs[f["key"]]
    if kind == "eq":
        return _equal(have, value)
    if kind == "ne":
        return not _equal(have, value)
    if kind == "in":
        return any(_equal(have, v) for v in value)
    if kind == "nin":
        return not any(_equal(have, v) for v in value)
    if not _same_kind(have, value) or isinstance(have, bool):
        return False
    if kind == "gt":
        return have > value
    if kind == "gte":
        return have >= value
    if kind == "lt":
        return have < value
    return have <= value
