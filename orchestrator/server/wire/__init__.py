"""Wire-format schemas from OpenAI's pinned OpenAPI spec (see scripts/extract_openapi_subset.py).

Request bodies are validated against the spec's own request schemas, so what the server
accepts is exactly what the spec allows; the tests validate every response body against
the spec's response schemas with :func:`validator`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from orchestrator.server.errors import invalid

_SUBSET = Path(__file__).with_name("openapi_subset.json")
_URI = "urn:openai-openapi"


@cache
def spec() -> dict[str, Any]:
    doc = _nullable(json.loads(_SUBSET.read_text(encoding="utf-8")))
    return _known_deviations(_dispatch_unions(doc))


def _dispatch_unions(doc: dict[str, Any]) -> dict[str, Any]:
    """Discriminated unions, checked as OpenAPI means them: by their tag.

    JSON Schema's ``oneOf`` tries every member and fails when two accept a value (an input
    message is both an EasyInputMessage and an Item); trying all 27 kinds of item for each
    of 20 items is also slow, and its error ("not valid under any of the given schemas")
    names nothing. So a union whose members' tags are known becomes: the tag must be one
    of the members' values, and the value is checked against the members with that tag
    only (without a tag: the members whose tag is optional)."""
    schemas = doc["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref", "")
        return schemas.get(ref.rsplit("/", 1)[1], {}) if ref else node

    def tags(node: dict[str, Any], prop: str, seen: frozenset[str]) -> tuple[set, bool] | None:
        """(tag values, whether the tag may be left out), or None if unknown."""
        ref = node.get("$ref", "")
        if ref in seen:
            return None
        seen = seen | {ref}
        node = resolve(node)
        members = node.get("anyOf") or node.get("oneOf")
        if "properties" in node and prop in node["properties"]:
            tag = node["properties"][prop]
            options = tag.get("anyOf") or [tag]
            values: set = set()
            for option in options:
                if "const" in option:
                    values.add(option["const"])
                elif "enum" in option:
                    values |= {v for v in option["enum"] if v is not None}
                elif option.get("type") != "null":
                    return None
            return (values, prop not in node.get("required", [])) if values else None
        found: tuple[set, bool] | None = None
        for part in node.get("allOf") or []:
            found = found or tags(part, prop, seen)
        if found is not None:
            return found
        if members:
            out: set = set()
            optional = False
            for member in members:
                got = tags(member, prop, seen)
                if got is None:
                    return None
                out |= got[0]
                optional = optional or got[1]
            return out, optional
        return None

    def rewrite(node: Any) -> Any:
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        if not isinstance(node, dict):
            return node
        node = {k: rewrite(v) for k, v in node.items()}
        prop = (node.get("discriminator") or {}).get("propertyName")
        members = node.get("anyOf") or node.get("oneOf")
        if not prop or not members:
            return node
        known = [(m, tags(m, prop, frozenset())) for m in members]
        if any(t is None for _, t in known):
            return node
        values = sorted({v for _, t in known for v in t[0]})  # type: ignore[index]
        optional = [m for m, t in known if t[1]]  # type: ignore[index]
        branches = [
            {
                "if": {"properties": {prop: {"const": v}}},
                "then": {"anyOf": [m for m, t in known if v in t[0]]},  # type: ignore[index]
            }
            for v in values
        ]
        out = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
        out["if"] = {"required": [prop]}
        out["then"] = {"properties": {prop: {"enum": values}}, "allOf": branches}
        out["else"] = {"anyOf": optional} if optional else False
        return out

    doc["components"]["schemas"] = {n: rewrite(v) for n, v in schemas.items()}
    return doc


def _known_deviations(doc: dict[str, Any]) -> dict[str, Any]:
    """Where OpenAI's API answered differently from its own spec, clients were written
    against the API: an empty list page has ``first_id``/``last_id`` null (the SDK's
    cursor pages type them optional), in every list (ListAssistantsResponse, ConversationItemList,
    ContainerListResource, ...). A file uploaded with any purpose the upload
    schema allows (e.g. ``evals``) is returned with that purpose. Errors are sent as
    ``{"error": {...}}`` (ErrorResponse) where a few operations document a bare Error. A
    Responses function tool may leave out ``strict`` and ``parameters`` (the API fills
    them in: ``strict: true``, an empty object schema)."""
    schemas = doc["components"]["schemas"]
    for item in doc["paths"].values():
        for op in item.values():
            for status, resp in (op.get("responses") or {}).items() if isinstance(op, dict) else ():
                content = (resp.get("content") or {}).get("application/json") or {}
                if status.startswith("4") and content.get("schema") == {
                    "$ref": "#/components/schemas/Error"
                }:
                    content["schema"] = {"$ref": "#/components/schemas/ErrorResponse"}
    # ContainerResource lists its required fields twice; JSON Schema wants them unique.
    for schema in schemas.values():
        if isinstance(schema.get("required"), list):
            schema["required"] = list(dict.fromkeys(schema["required"]))
    function_tool = schemas.get("FunctionTool")
    if function_tool is not None:
        function_tool["required"] = ["type", "name"]
    file_purpose = schemas.get("OpenAIFile", {}).get("properties", {}).get("purpose", {})
    upload_purpose = schemas.get("CreateFileRequest", {}).get("properties", {}).get("purpose", {})
    if "enum" in file_purpose and "enum" in upload_purpose:
        file_purpose["enum"] = sorted(set(file_purpose["enum"]) | set(upload_purpose["enum"]))
    for schema in schemas.values():
        props = schema.get("properties", {})
        if {"data", "has_more", "first_id", "last_id"} <= set(props):
            for key in ("first_id", "last_id"):
                prop = schema.get("properties", {}).get(key)
                if prop is not None and prop.get("type") == "string":
                    prop["type"] = ["string", "null"]
    return doc


def _nullable(node: Any) -> Any:
    """Rewrite OpenAPI 3.0's ``nullable: true`` (which the 3.1 spec still uses, and
    JSON Schema ignores) into JSON Schema: OpenAI sends ``null`` for those fields."""
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    members = node.get("allOf")
    if isinstance(members, list):
        # `allOf: [{$ref: X}, {nullable: true}]` means "X or null".
        kept = [
            m
            for m in members
            if not (
                isinstance(m, dict)
                and m.get("nullable") is True
                and set(m) <= {"nullable", "description"}
            )
        ]
        if len(kept) != len(members):
            node = {**node, "allOf": kept, "nullable": True}
    node = {k: _nullable(v) for k, v in node.items()}
    if node.pop("nullable", False) is not True:
        return node
    if isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
        if isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node
    return {"anyOf": [node, {"type": "null"}]}


@cache
def _registry() -> Registry:
    return Registry().with_resource(_URI, Resource(contents=spec(), specification=DRAFT202012))


@cache
def validator(schema_name: str) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<schema_name>`` of the pinned spec."""
    if schema_name not in spec()["components"]["schemas"]:
        raise KeyError(f"schema {schema_name!r} is not in the extracted spec subset")
    return Draft202012Validator(
        {"$ref": f"{_URI}#/components/schemas/{schema_name}"}, registry=_registry()
    )


@cache
def operation_validator(path: str, method: str) -> Draft202012Validator:
    """A validator for an operation's inline JSON request body (no component of its own)."""
    op = spec()["paths"][path][method]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    # The inline schema's refs point into the spec document: make them absolute.
    text = json.dumps(schema).replace('"#/components/', f'"{_URI}#/components/')
    return Draft202012Validator(json.loads(text), registry=_registry())


def _param(error: ValidationError) -> str | None:
    parts = [str(p) for p in error.absolute_path]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


def _v1_tool(body: dict[str, Any], param: str | None) -> str | None:
    """``tools[i].type`` of a v1 ``retrieval`` tool, when the error is about the tools."""
    tools = body.get("tools")
    if not param or not param.startswith("tools") or not isinstance(tools, list):
        return None
    for i, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") == "retrieval":
            return f"tools[{i}].type"
    return None


def check_request(schema_name: str, body: Any) -> dict[str, Any]:
    """Validate a request body; raise a 400 APIError naming the offending parameter."""
    return check_against(validator(schema_name), body)


def check_against(request_validator: Draft202012Validator, body: Any) -> dict[str, Any]:
    """:func:`check_request` with any request schema (e.g. one the spec does not hold)."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    error = best_match(request_validator.iter_errors(body))
    if error is None:
        return body
    if error.validator == "additionalProperties":
        # jsonschema's message: "Additional properties are not allowed ('x' was unexpected)"
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = _param(error)
        names = ", ".join(f"{where}.{e}" if where else e for e in extra)
        raise invalid(
            f"Unrecognized request argument supplied: {names}", param=extra[0] if extra else where
        )
    param = _param(error)
    renamed = _v1_tool(body, param)
    if renamed is not None:
        raise invalid(
            f"Invalid value for '{renamed}': 'retrieval' is the Assistants v1 name of the tool "
            'that v2 calls \'file_search\'. Use {"type": "file_search"} and attach the files '
            "through a vector store (tool_resources.file_search.vector_store_ids).",
            param=renamed,
        )
    if error.validator == "required":
        # OpenAI names the missing parameter itself: 'messages', 'tools[0].function'.
        missing = next((r for r in error.validator_value if r not in error.instance), "")
        full = f"{param}.{missing}" if param else missing
        raise invalid(f"Missing required parameter: '{full}'.", param=full or None)
    if error.validator == "maxItems":
        # OpenAI's wording for arrays over their limit.
        raise invalid(
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{error.validator_value}, but got an array with length {len(error.instance)} "
            "instead.",
            param=param,
        )
    label = f"'{param}'" if param else "the request body"
    raise invalid(f"Invalid value for {label}: {error.message}", param=param)
