"""Comparable forms: an assistant's fields, tools and chunking, whatever defaults a server
fills in, so the planner compares what the YAML means with what the server holds."""

from __future__ import annotations

from typing import Any

from orchestrator.reconcile.desired import ASSISTANT_FIELDS

DEFAULT_CHUNKING = {
    "type": "static",
    "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
}
_DEFAULT_RANKERS = (None, "auto", "default_2024_08_21")


def drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def normalise_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool in one canonical form, whatever defaults a server fills in."""
    kind = tool.get("type")
    if kind == "function":
        fn = dict(tool.get("function") or {})
        out_fn: dict[str, Any] = {
            "name": fn.get("name"),
            "parameters": fn.get("parameters") or {"type": "object", "properties": {}},
        }
        if fn.get("description"):
            out_fn["description"] = fn["description"]
        if fn.get("strict"):
            out_fn["strict"] = True
        return {"type": "function", "function": out_fn}
    if kind == "file_search":
        fs = dict(tool.get("file_search") or {})
        ranking = dict(fs.pop("ranking_options", None) or {})
        if ranking.get("ranker") in _DEFAULT_RANKERS and not ranking.get("score_threshold"):
            ranking = {}
        out: dict[str, Any] = {k: v for k, v in fs.items() if v is not None}
        if ranking:
            out["ranking_options"] = ranking
        return {"type": "file_search", "file_search": out} if out else {"type": "file_search"}
    return {"type": kind}


def normalise_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The comparable form of an assistant's API fields (server defaults made explicit)."""
    out: dict[str, Any] = {}
    for name in ASSISTANT_FIELDS:
        value = fields.get(name)
        if name in ("name", "description", "instructions"):
            value = value or None
        elif name in ("temperature", "top_p"):
            value = round(float(1.0 if value is None else value), 6)
        elif name == "response_format":
            value = "auto" if value in (None, "auto") else drop_none(value)
        elif name == "tools":
            value = [normalise_tool(t) for t in value or []]
        out[name] = value
    return out


def expected_chunking(chunking: dict[str, Any] | None) -> dict[str, Any]:
    if not chunking or chunking.get("type") == "auto":
        return DEFAULT_CHUNKING
    return drop_none(chunking)


def chunking_matches(actual: dict[str, Any] | None, desired: dict[str, Any] | None) -> bool:
    if actual is None or actual.get("type") == "other":
        # Not reported (or "other": files indexed before chunking existed): only the
        # default is assumed.
        return expected_chunking(desired) == DEFAULT_CHUNKING
    return drop_none(actual) == expected_chunking(desired)
