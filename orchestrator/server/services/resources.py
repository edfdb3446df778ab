"""Tools and tool_resources shared by assistants, threads and runs."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from orchestrator.server.errors import invalid
from orchestrator.server.services.vector_stores import create_vector_store

if TYPE_CHECKING:
    from orchestrator.server.context import ServerContext

DEFAULT_RANKING = {"ranker": "default_2024_08_21", "score_threshold": 0.0}
_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


def check_function_name(name: Any, param: str) -> None:
    """OpenAI's rule (and its wording): clients build file names and identifiers from it."""
    if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
        raise invalid(
            f"Invalid '{param}': string does not match pattern. Expected a string that "
            "matches the pattern '^[a-zA-Z0-9_-]+$'.",
            param=param,
            code="invalid_value",
        )
    if len(name) > 64:
        raise invalid(
            f"Invalid '{param}': string too long. Expected a string with maximum length 64, "
            f"but got a string with length {len(name)} instead.",
            param=param,
            code="string_above_max_length",
        )


def normalise_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tools as OpenAI returns them: defaults filled in, so reads are stable."""
    out = []
    names: set[str] = set()
    for i, tool in enumerate(tools):
        tool = copy.deepcopy(tool)
        if tool["type"] == "file_search":
            fs = tool.setdefault("file_search", {})
            ranking = fs.setdefault("ranking_options", {})
            for k, v in DEFAULT_RANKING.items():
                ranking.setdefault(k, v)
        elif tool["type"] == "function":
            fn = tool["function"]
            check_function_name(fn["name"], f"tools[{i}].function.name")
            if fn["name"] in names:
                raise invalid(
                    f"Duplicate function name '{fn['name']}' in tools.", param=f"tools[{i}]"
                )
            names.add(fn["name"])
            # The spec types description as a string: leave it out rather than null.
            if fn.get("description") is None:
                fn.pop("description", None)
            fn.setdefault("parameters", {"type": "object", "properties": {}})
            fn.setdefault("strict", False)
        out.append(tool)
    return out


def check_tool_resources(c: ServerContext, resources: dict[str, Any]) -> dict[str, Any]:
    """Validate referenced ids; create vector stores requested with the ``vector_stores`` helper."""
    out: dict[str, Any] = {}
    ci = resources.get("code_interpreter")
    if ci is not None:
        file_ids = list(ci.get("file_ids") or [])
        for n, file_id in enumerate(file_ids):
            if c.store.get("file", file_id) is None:
                raise invalid(
                    f"No file found with id '{file_id}'.",
                    param=f"tool_resources.code_interpreter.file_ids[{n}]",
                )
        out["code_interpreter"] = {"file_ids": file_ids}
    fs = resources.get("file_search")
    if fs is not None:
        ids = list(fs.get("vector_store_ids") or [])
        for n, vs_id in enumerate(ids):
            if c.store.get("vector_store", vs_id) is None:
                raise invalid(
                    f"No vector store found with id '{vs_id}'.",
                    param=f"tool_resources.file_search.vector_store_ids[{n}]",
                )
        helpers = fs.get("vector_stores") or []
        if helpers and ids:
            raise invalid(
                "Provide either vector_store_ids or vector_stores, not both.",
                param="tool_resources.file_search",
            )
        if helpers:
            ids = [create_vector_store(c, dict(h))["id"] for h in helpers]
        out["file_search"] = {"vector_store_ids": ids}
    return out
