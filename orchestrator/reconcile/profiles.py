"""Responses profiles: each assistant as the exact ``responses.create`` parameters it stands for.

The Assistants API is gone from OpenAI; its documented successor is the Responses API,
where an assistant's definition travels with every request. Apply writes one profile per
assistant into the lock file (``profiles``, see :mod:`.lockfile` and
``schemas/lockfile.schema.json``), with every reference resolved to a server id::

    "quiz-generator": {
      "request": {
        "model": "gpt-4o",
        "instructions": "...",
        "tools": [
          {"type": "file_search", "vector_store_ids": ["vs_..."], "max_num_results": 5},
          {"type": "function", "name": "display_quiz", "parameters": {...}, "strict": false}
        ],
        "temperature": 0.2
      },
      "agent_id": null
    }

An application sends ``request`` as it is, plus its own ``input`` (and ``conversation``)::

    client.responses.create(**profile["request"], conversation=conv_id, input=text)

``agent_id`` is the Managed Agent published for it (``api: openai`` with ``agent: true``).
The mapping from the assistant's fields:

- ``function`` → a Responses function tool (``strict`` as the YAML says, default false:
  the Responses API would otherwise default to true);
- ``file_search`` → with ``vector_store_ids`` of its store, ``max_num_results`` and
  ``ranking_options.score_threshold``;
- ``code_interpreter`` → with ``container: {"type": "auto", "file_ids": [...]}``;
- ``response_format`` → ``text.format``; ``reasoning_effort`` → ``reasoning.effort``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestrator.project.specs import AssistantSpec, ToolSpec

PROFILE_VERSION = 1


def _tool(tool: ToolSpec, vector_store_ids: list[str], file_ids: list[str]) -> dict[str, Any]:
    if tool.type == "function":
        assert tool.function is not None
        fn = tool.function
        out: dict[str, Any] = {"type": "function", "name": fn.name}
        if fn.description is not None:
            out["description"] = fn.description
        out["parameters"] = fn.parameters
        out["strict"] = bool(fn.strict)
        return out
    if tool.type == "file_search":
        out = {"type": "file_search", "vector_store_ids": vector_store_ids}
        options = tool.file_search or {}
        if options.get("max_num_results") is not None:
            out["max_num_results"] = options["max_num_results"]
        threshold = (options.get("ranking_options") or {}).get("score_threshold")
        if threshold:
            out["ranking_options"] = {"score_threshold": threshold}
        return out
    return {"type": "code_interpreter", "container": {"type": "auto", "file_ids": file_ids}}


def _text(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None  # "auto" or unset: the API's default
    kind = response_format.get("type")
    if kind != "json_schema":
        return {"format": {"type": kind}}
    js = response_format.get("json_schema") or {}
    fmt: dict[str, Any] = {"type": "json_schema", "name": js.get("name")}
    if js.get("description"):
        fmt["description"] = js["description"]
    fmt["schema"] = js.get("schema") or {}
    if js.get("strict") is not None:
        fmt["strict"] = js["strict"]
    return {"format": fmt}


def responses_request(
    spec: AssistantSpec, vector_store_ids: list[str], file_ids: list[str]
) -> dict[str, Any]:
    """The ``responses.create`` parameters an assistant stands for (without ``input``)."""
    request: dict[str, Any] = {"model": spec.model}
    if spec.instructions:
        request["instructions"] = spec.instructions
    tools = [_tool(t, vector_store_ids, file_ids) for t in spec.tools]
    if tools:
        request["tools"] = tools
    for name in ("temperature", "top_p"):
        value = getattr(spec, name)
        if value is not None:
            request[name] = value
    text = _text(spec.response_format)
    if text is not None:
        request["text"] = text
    if spec.reasoning_effort:
        request["reasoning"] = {"effort": spec.reasoning_effort}
    return request


def build_profiles(
    specs: Iterable[AssistantSpec],
    vector_store_ids: dict[str, str],
    file_ids: dict[str, str],
    agent_ids: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """A profile per assistant, by key: ``vector_store_ids`` maps a store key to its id,
    ``file_ids`` a project-relative path to its file id, ``agent_ids`` an assistant key to
    its Managed Agent. A reference without an id (not applied yet) is left out."""
    out: dict[str, dict[str, Any]] = {}
    for spec in sorted(specs, key=lambda s: s.key):
        store = spec.vector_store
        stores = [vector_store_ids[store.key]] if store and store.key in vector_store_ids else []
        files = [file_ids[r.rel] for r in spec.code_interpreter_files if r.rel in file_ids]
        out[spec.key] = {
            "request": responses_request(spec, stores, list(dict.fromkeys(files))),
            "agent_id": agent_ids.get(spec.key),
        }
    return out
