"""Checks on JSON Schemas users write: function ``parameters`` and ``json_schema`` reply formats.

Two rules: the schema must be a valid JSON Schema (checked with its metaschema, Draft
2020-12 unless ``$schema`` names another draft), and with ``strict: true`` it must follow
OpenAI's strict-mode subset: every object sets ``additionalProperties: false`` and lists
every property in ``required``, no unsupported keywords, ``anyOf`` not at the root.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from orchestrator.project.diagnostics import did_you_mean
from orchestrator.project.schema_check import where
from orchestrator.project.specs import Location

LocateFn = Callable[[tuple[str | int, ...]], Location]
Problem = tuple[Location, str]

_JSON_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"]
# Keywords OpenAI's strict mode rejects (structured outputs: "supported schemas").
_STRICT_UNSUPPORTED = {
    "allOf": "use anyOf, or merge the schemas",
    "oneOf": "use anyOf",
    "not": None,
    "if": None,
    "then": None,
    "else": None,
    "dependentRequired": None,
    "dependentSchemas": None,
    "patternProperties": None,
    "unevaluatedProperties": None,
    "propertyNames": None,
    "minProperties": None,
    "maxProperties": None,
}
_MAX_STRICT_DEPTH = 10


def metaschema_problems(schema: Any, label: str, locate: LocateFn) -> list[Problem]:
    """Where ``schema`` is not a valid JSON Schema, as readable problems."""
    if not isinstance(schema, dict):
        return [(locate(()), f"{label} must be a JSON Schema object")]
    cls = validator_for(schema, default=Draft202012Validator)
    out: list[Problem] = []
    for err in cls(cls.META_SCHEMA).iter_errors(schema):
        sub = tuple(err.absolute_path)
        at = f" at {where(sub)}" if sub else ""
        if (sub and sub[-1] == "type") or (len(sub) >= 2 and sub[-2] == "type"):
            bad = err.instance if isinstance(err.instance, str) else None
            hint = did_you_mean(bad, _JSON_TYPES) if bad else ""
            msg = (
                f"{label} is not a valid JSON Schema{at}: {_show(err.instance)} is not a JSON "
                f"type; expected one of {', '.join(_JSON_TYPES)}{hint}"
            )
        else:
            msg = f"{label} is not a valid JSON Schema{at}: {err.message}"
        out.append((locate(sub), msg))
    return out


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _is_object(schema: dict[str, Any]) -> bool:
    t = schema.get("type")
    return t == "object" or (isinstance(t, list) and "object" in t) or "properties" in schema


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _children(schema: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    for name, sub in _dict(schema.get("properties")).items():
        yield ("properties", name), sub
    items = schema.get("items")
    if isinstance(items, dict):
        yield ("items",), items
    for i, sub in enumerate(_list(schema.get("prefixItems"))):
        yield ("prefixItems", i), sub
    for i, sub in enumerate(_list(schema.get("anyOf"))):
        yield ("anyOf", i), sub
    for defs in ("$defs", "definitions"):
        for name, sub in _dict(schema.get(defs)).items():
            yield (defs, name), sub
    if isinstance(schema.get("additionalProperties"), dict):
        yield ("additionalProperties",), schema["additionalProperties"]


def strict_problems(schema: Any, label: str, locate: LocateFn) -> list[Problem]:
    """Where ``schema`` breaks OpenAI's strict-mode rules (empty when it follows them)."""
    if not isinstance(schema, dict):
        return []
    out: list[Problem] = []
    if "anyOf" in schema and not _is_object(schema):
        out.append(
            (locate(("anyOf",)), f"strict: true: {label} must be an object at the root, not anyOf")
        )

    def visit(node: Any, path: tuple[str | int, ...], depth: int) -> None:
        if not isinstance(node, dict):
            return
        here = where(path) or "the root"
        for kw, advice in _STRICT_UNSUPPORTED.items():
            if kw in node:
                tip = f"; {advice}" if advice else ""
                out.append(
                    (
                        locate((*path, kw)),
                        f"strict: true: {label}: '{kw}' (at {here}) is not supported in strict mode{tip}",
                    )
                )
        if _is_object(node):
            if depth > _MAX_STRICT_DEPTH:
                out.append(
                    (
                        locate(path),
                        f"strict: true: {label}: objects nest more than {_MAX_STRICT_DEPTH} levels deep",
                    )
                )
            if node.get("additionalProperties") is not False:
                out.append(
                    (
                        locate(path),
                        f"strict: true: {label}: the object at {here} must set "
                        "additionalProperties: false",
                    )
                )
            props = list(_dict(node.get("properties")))
            required = _list(node.get("required"))
            missing = [p for p in props if p not in required]
            if missing:
                names = ", ".join(f"'{p}'" for p in missing)
                out.append(
                    (
                        locate((*path, "required") if "required" in node else path),
                        f"strict: true: {label}: every property must be listed in required, but "
                        f"the object at {here} does not list {names} (make optional fields nullable "
                        "instead, e.g. type: [string, 'null'])",
                    )
                )
        for sub_path, sub in _children(node):
            nested = 1 if _is_object(node) and sub_path[0] == "properties" else 0
            visit(sub, (*path, *sub_path), depth + nested)

    visit(schema, (), 1)
    return out
