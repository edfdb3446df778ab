"""Input items of the Responses and Conversations APIs, as stored and returned.

A request's ``input`` (a string, or a list of ``InputItem``) becomes item resources:
each with an ``id`` and a ``status``, messages with their content as parts. Conversations
store these items; a response stores them as its input items. ``include`` decides which
optional, bulky fields (search results, code outputs) a read returns.
"""

from __future__ import annotations

import copy
from typing import Any

from orchestrator.server.engine import item_log
from orchestrator.server.errors import invalid
from orchestrator.server.ids import new_id
from orchestrator.server.store import Store

# Item types a client may send (and we store); anything else is refused by name.
_ID_PREFIX_KIND = {
    "message": "message",
    "function_call": "function_call",
    "function_call_output": "function_call_output",
    "file_search_call": "file_search_call",
    "code_interpreter_call": "code_interpreter_call",
}
_ROLES = ("user", "assistant", "system", "developer")

INCLUDABLE = (
    "file_search_call.results",
    "code_interpreter_call.outputs",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "computer_call_output.output.image_url",
    "web_search_call.action.sources",
    "web_search_call.results",
    "reasoning.encrypted_content",
)


def check_include(include: list[str] | None) -> list[str]:
    for n, value in enumerate(include or []):
        if value not in INCLUDABLE:
            raise invalid(
                f"Invalid value for 'include[{n}]': '{value}'. Supported values are: "
                + ", ".join(f"'{v}'" for v in INCLUDABLE)
                + ".",
                param=f"include[{n}]",
            )
    return list(include or [])


def _message(item: dict[str, Any], param: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in _ROLES:
        raise invalid(
            f"Invalid value for '{param}.role': {role!r}. Expected one of "
            + ", ".join(f"'{r}'" for r in _ROLES)
            + ".",
            param=f"{param}.role",
        )
    content = item.get("content")
    text_type = "output_text" if role == "assistant" else "input_text"
    if isinstance(content, str):
        parts: list[dict[str, Any]] = [{"type": text_type, "text": content}]
    else:
        parts = copy.deepcopy(content or [])
    for part in parts:
        if part.get("type") == "output_text":
            part.setdefault("annotations", [])
            part.setdefault("logprobs", [])
        elif part.get("type") == "input_image":
            part.setdefault("detail", "auto")
    return {
        "id": item.get("id") or new_id("message"),
        "type": "message",
        "status": item.get("status") or "completed",
        "role": role,
        "content": parts,
    }


def to_items(store: Store, value: str | list[dict[str, Any]], param: str = "input") -> list[dict]:
    """The item resources a request's ``input`` (or a conversation's ``items``) stands for."""
    if isinstance(value, str):
        return [_message({"role": "user", "content": value}, param)]
    out = []
    for n, raw in enumerate(value):
        where = f"{param}[{n}]"
        kind = raw.get("type") or ("message" if "role" in raw else None)
        if kind == "item_reference":
            found = item_log.find(store, raw["id"])
            if found is None:
                raise invalid(f"Item with id '{raw['id']}' not found.", param=f"{where}.id")
            out.append(found)
            continue
        if kind not in _ID_PREFIX_KIND:
            raise invalid(
                f"Item type '{kind}' is not supported by this server; supported types are "
                + ", ".join(f"'{k}'" for k in (*_ID_PREFIX_KIND, "item_reference"))
                + ".",
                param=f"{where}.type",
            )
        if kind == "message":
            out.append(_message(raw, where))
            continue
        item = {k: v for k, v in copy.deepcopy(raw).items() if v is not None}
        item["id"] = item.get("id") or new_id(_ID_PREFIX_KIND[kind])
        item.setdefault("status", "completed")
        if kind == "function_call_output" and not item.get("call_id"):
            raise invalid("Missing required parameter: 'call_id'.", param=f"{where}.call_id")
        out.append(item)
    return out


def present(item: dict[str, Any], include: list[str]) -> dict[str, Any]:
    """The item as a read returns it: bulky fields only when ``include`` asks for them."""
    kind = item.get("type")
    if kind == "file_search_call" and "file_search_call.results" not in include:
        return {**item, "results": None}
    if kind == "code_interpreter_call" and "code_interpreter_call.outputs" not in include:
        return {**item, "outputs": None}
    return item
