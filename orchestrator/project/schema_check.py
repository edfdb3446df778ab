"""Checking documents against the JSON Schemas in ``orchestrator/schemas``, with readable errors.

jsonschema's own messages ("Additional properties are not allowed ('temprature' was
unexpected)") name neither the place nor the fix. Each error is turned into a message
that says what was expected, at the line of the offending key or value. Schemas may
carry ``errorMessage`` (one message for any failure of that subschema, as VS Code and
yaml-language-server show it), ``x-messages`` (per keyword) and ``x-hints`` (extra advice
for particular wrong values); ``{value}``, ``{count}`` are filled in.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match

from orchestrator.project.diagnostics import Diagnostics, did_you_mean
from orchestrator.project.documents import Document, PathKey
from orchestrator.project.specs import Location

SCHEMA_FILES = {
    "Assistant": "assistant.schema.json",
    "Scenario": "scenario.schema.json",
    "Project": "project.schema.json",
    "Cassette": "cassette.schema.json",
    "LockFile": "lockfile.schema.json",
}

_TYPES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "empty",
}


@functools.cache
def load_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a YAML kind (Assistant, Scenario, Project, Cassette)."""
    text = (
        resources.files("orchestrator").joinpath("schemas", SCHEMA_FILES[kind]).read_text("utf-8")
    )
    return json.loads(text)


@functools.cache
def _validator(kind: str, definition: str | None = None) -> Draft202012Validator:
    schema = load_schema(kind)
    if definition is not None:
        # A self-contained definition (no $refs), e.g. a function loaded from a JSON file.
        schema = schema["$defs"][definition]
    return Draft202012Validator(schema, format_checker=FormatChecker(formats=["regex"]))


def where(path: Iterable[str | int]) -> str:
    """``("tools", 1, "file_search")`` -> ``tools[1].file_search``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def show(value: Any, limit: int = 60) -> str:
    text = (
        repr(value)
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=str)
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _actual(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, str):
        return f"a string ({show(value)})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _expected_types(types: Any) -> str:
    names = [_TYPES.get(t, t) for t in (types if isinstance(types, list) else [types])]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _fill(template: str, value: Any) -> str:
    count = len(value) if isinstance(value, dict | list | str) else 0
    return template.replace("{value}", show(value)).replace("{count}", str(count))


def _bounds(schema: dict[str, Any]) -> str | None:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    if lo is not None and hi is not None:
        return f"between {lo} and {hi}"
    if "exclusiveMinimum" in schema:
        return f"greater than {schema['exclusiveMinimum']}"
    if lo is not None:
        return f"at least {lo}"
    if hi is not None:
        return f"at most {hi}"
    return None


def explain(err: ValidationError, doc: Document, base: PathKey = ()) -> list[tuple[Location, str]]:
    """One schema error as (location, message) pairs: what is wrong and what was expected."""
    path: PathKey = base + tuple(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    kw = err.validator
    value = err.instance
    name = where(path) or (schema.get("title") or "the file")
    in_names = "propertyNames" in err.schema_path

    custom = (schema.get("x-messages") or {}).get(kw) or schema.get("errorMessage")
    if kw in ("additionalProperties", "required", "dependentSchemas") and not schema.get(
        "x-messages", {}
    ).get(kw):
        custom = None  # field-level problems are explained per field below
    if custom:
        msg = _fill(custom, value)
        hint = (schema.get("x-hints") or {}).get(value) if isinstance(value, str) else None
        if hint:
            msg += f" ({hint})"
        elif kw == "enum" and isinstance(value, str):
            msg += did_you_mean(value, [str(v) for v in err.validator_value])
        if in_names:
            return [(doc.key_loc((*path, value)), msg)]
        if "dependentSchemas" in err.schema_path:
            prop = list(err.schema_path)[list(err.schema_path).index("dependentSchemas") + 1]
            return [(doc.key_loc((*path, prop)), msg)]
        return [
            (
                doc.key_loc(path)
                if kw in ("minProperties", "maxProperties", "not")
                else doc.loc(path),
                msg,
            )
        ]

    if in_names:
        loc = doc.key_loc((*path, value))
        if kw == "maxLength":
            return [
                (
                    loc,
                    f"key {show(value)} in {name} is longer than {err.validator_value} characters",
                )
            ]
        if kw == "pattern":
            return [(loc, f"key {show(value)} in {name} must match {err.validator_value}")]
        if kw == "enum":
            opts = ", ".join(map(str, err.validator_value))
            return [
                (
                    loc,
                    f"unknown key {show(value)} in {name}: expected one of {opts}{did_you_mean(str(value), map(str, err.validator_value))}",
                )
            ]
        return [(loc, f"key {show(value)} in {name} is not allowed")]

    if kw == "additionalProperties" and isinstance(value, dict):
        known = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        title = schema.get("title") or (where(path) or "this file")
        out = []
        for key in value:
            if key in known or any(re.search(p, str(key)) for p in patterns):
                continue
            hint = did_you_mean(str(key), known)
            if not hint and known:
                hint = f"; expected one of: {', '.join(k for k in known if k != '$schema')}"
                if "^x-" in patterns:
                    hint += (
                        " (name it x-... to keep it as an extension field, e.g. for YAML anchors)"
                    )
            out.append((doc.key_loc((*path, key)), f"unknown field '{key}' in {title}{hint}"))
        return out
    if kw == "required" and isinstance(value, dict):
        title = schema.get("title") or (where(path) or "this file")
        out = []
        for field in err.validator_value:
            if field in value:
                continue
            about = (schema.get("properties", {}).get(field) or {}).get("description", "")
            about = about.split(". ")[0].rstrip(".")
            if about[:2].istitle():  # "The user's message" -> "the user's message"
                about = about[0].lower() + about[1:]
            extra = f" ({about})" if about and len(about) <= 100 else ""
            out.append((doc.key_loc(path), f"missing required field '{field}' in {title}{extra}"))
        return out

    loc = doc.loc(path)
    if kw == "type":
        return [
            (loc, f"{name} must be {_expected_types(err.validator_value)}, got {_actual(value)}")
        ]
    if kw == "enum":
        opts = ", ".join(map(str, err.validator_value))
        hint = did_you_mean(value, map(str, err.validator_value)) if isinstance(value, str) else ""
        return [(loc, f"{name} must be one of: {opts}; got {show(value)}{hint}")]
    if kw == "const":
        return [(loc, f"{name} must be {show(err.validator_value)}, got {show(value)}")]
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [(loc, f"{name} must be {_bounds(schema)}, got {value}")]
    if kw == "maxLength":
        return [
            (
                loc,
                f"{name} is {len(value):,} characters long; at most {err.validator_value:,} are allowed",
            )
        ]
    if kw == "minLength":
        return [(loc, f"{name} must not be empty")]
    if kw == "maxItems":
        return [(loc, f"{name} has {len(value)} items; at most {err.validator_value} are allowed")]
    if kw == "minItems":
        return [
            (
                loc,
                f"{name} must have at least {err.validator_value} item{'s' if err.validator_value != 1 else ''}",
            )
        ]
    if kw == "maxProperties":
        return [
            (
                doc.key_loc(path),
                f"{name} has {len(value)} entries; at most {err.validator_value} are allowed",
            )
        ]
    if kw == "minProperties":
        return [
            (
                doc.key_loc(path),
                f"{name} must have at least {err.validator_value} entr{'ies' if err.validator_value != 1 else 'y'}",
            )
        ]
    if kw == "uniqueItems":
        return [(loc, f"{name} lists the same item more than once")]
    if kw == "pattern":
        return [(loc, f"{name} {show(value)} must match {err.validator_value}")]
    if kw == "format" and err.validator_value == "regex":
        try:
            re.compile(value)
        except re.error as e:
            return [(loc, f"{name} is not a valid regular expression: {e}")]
    if kw in ("oneOf", "anyOf") and err.context:
        return explain(best_match(err.context), doc, base)
    if kw == "not":
        return [(doc.key_loc(path), f"{name} is not allowed here")]
    return [(loc, f"{name}: {err.message}")]


def check(
    doc: Document,
    kind: str,
    diags: Diagnostics,
    *,
    data: Any = None,
    base: PathKey = (),
    definition: str | None = None,
) -> int:
    """Validate ``doc.data`` (or ``data`` found at ``base`` in ``doc``) against a kind's schema.

    Reports every problem in ``diags`` and returns how many there were.
    """
    instance = doc.data if data is None else data
    seen: set[tuple[Location, str]] = set()
    for err in _validator(kind, definition).iter_errors(instance):
        for loc, msg in explain(err, doc, base):
            if (loc, msg) not in seen:
                seen.add((loc, msg))
    for loc, msg in sorted(seen, key=lambda x: (x[0].line, x[0].column, x[1])):
        diags.error(loc, msg)
    return len(seen)
