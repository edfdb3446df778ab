"""Cassettes: what the model did on each turn of a scenario, for exact offline replay.

A cassette sits next to its scenario (``quiz.yaml`` -> ``quiz.cassette.yaml``; a file
with several scenarios gets one per scenario, ``quiz.<name>.cassette.yaml``). Its steps
are the embedded local model's script steps (:mod:`orchestrator.scripting`, the wire
contract shared with the server),
one list per turn, built from the turn's run steps: tool calls with their arguments,
code-interpreter code, file-search calls and reply texts.

The Assistants API does not expose the query of a file-search call, so a step recorded
there carries the user's message of that turn as its query (what the local model itself
would search for); over Responses it carries the query the model sent.

Replay hands a turn's steps to the conversation's driver before that turn
(:meth:`~orchestrator.scenarios.drivers.base.Conversation.queue_script`; on the
Assistants API, the thread's script queue on the embedded server).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.scenarios.observed import ToolCallRecord, TurnRecord
from orchestrator.scripting import (
    ScriptCodeCall,
    ScriptFileSearchCall,
    ScriptFunctionCall,
    ScriptStep,
    ScriptToolCall,
)


class CassetteError(Exception):
    """A cassette that cannot be read or does not belong to its scenario any more."""


class CassetteTurn(BaseModel):
    """One turn: the user's message (to check the cassette still fits) and the steps."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    steps: list[ScriptStep] = Field(default_factory=list)


class Cassette(BaseModel):
    """``schemas/cassette.schema.json`` as a model (steps are script steps)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_: str | None = Field(default=None, alias="$schema")
    kind: Literal["Cassette"] = "Cassette"
    version: Literal[1] = 1
    scenario: str | None = None
    assistant: str | None = None
    model: str | None = None
    recorded_at: str | None = None
    turns: list[CassetteTurn]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "scenario"


def cassette_path(scenario_file: Path, scenario_name: str, shared_file: bool = False) -> Path:
    """Where a scenario's cassette lives (next to the scenario file)."""
    stem = scenario_file.name
    for ext in (".yaml", ".yml"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    if shared_file:
        stem += "." + _slug(scenario_name)
    return scenario_file.with_name(f"{stem}.cassette.yaml")


def steps_of_turn(turn: TurnRecord) -> list[ScriptStep]:
    """The model's steps in a turn, as script steps."""
    out: list[ScriptStep] = []
    replies = iter(turn.replies)
    for step in turn.steps:
        if step.type == "tool_calls":
            calls: list[ScriptToolCall] = []
            for c in step.tool_calls:
                if c.type == "function":
                    args = c.arguments if isinstance(c.arguments, dict) else {}
                    calls.append(ScriptFunctionCall(name=c.name, arguments=args))
                elif c.type == "code_interpreter":
                    calls.append(ScriptCodeCall(code=c.code or ""))
                else:
                    calls.append(ScriptFileSearchCall(query=_search_query(c, turn.user)))
            if calls:
                out.append(ScriptStep(tool_calls=calls))
        elif step.type == "message_creation":
            text = next(replies, None)
            if text is not None:
                out.append(ScriptStep(reply=text))
    return out


def _search_query(call: ToolCallRecord, user: str) -> str:
    """The query a file-search call sent (Responses has it), else the user's message."""
    queries = call.arguments.get("queries") if isinstance(call.arguments, dict) else None
    return str(queries[0]) if queries else user


def build(
    scenario: str, assistant: str, turns: list[TurnRecord], model: str | None = None
) -> Cassette:
    return Cassette(
        scenario=scenario,
        assistant=assistant,
        model=model or next((t.model for t in turns if t.model), None),
        recorded_at=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        turns=[CassetteTurn(user=t.user, steps=steps_of_turn(t)) for t in turns],
    )


def _schema_comment(path: Path) -> str:
    # Editors find the schema from the project's schemas/ folder, wherever it is above.
    for parent in path.resolve().parents:
        schema = parent / "schemas" / "cassette.schema.json"
        if schema.exists():
            rel = os.path.relpath(schema, path.resolve().parent)
            return f"# yaml-language-server: $schema={Path(rel).as_posix()}\n"
    return ""


def _literal_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line replies and code read best as block scalars.
    style = "|" if "\n" in value and not value.endswith(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(str, _literal_str)


def dump(cassette: Cassette) -> str:
    data = cassette.model_dump(mode="json", exclude_none=True, by_alias=True)
    for turn in data["turns"]:
        for step in turn["steps"]:
            if not step.get("tool_calls"):
                step.pop("tool_calls", None)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def save(cassette: Cassette, path: Path) -> None:
    text = _schema_comment(path) + dump(cassette)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # never a half-written cassette


def load(path: Path) -> Cassette:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CassetteError(f"{path}: cannot read the cassette ({exc})") from None
    try:
        return Cassette.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CassetteError(
            f"{path}: not a valid cassette ({where}: {first['msg']}); re-record it with "
            "`orchestrator test --record`"
        ) from None


def check_fits(cassette: Cassette, path: Path, users: list[str]) -> None:
    """The cassette was recorded for this conversation (same user turns)."""
    if len(cassette.turns) != len(users):
        raise CassetteError(
            f"{path} has {len(cassette.turns)} turn(s) but the scenario has {len(users)}; "
            "re-record it with `orchestrator test --record` (or run with --live)"
        )
    for i, (turn, user) in enumerate(zip(cassette.turns, users, strict=False)):
        if turn.user is not None and turn.user != user:
            raise CassetteError(
                f"{path}: turn {i + 1} was recorded for the user message {turn.user!r}, but "
                f"the scenario now says {user!r}; re-record it with `orchestrator test --record` "
                "(or run with --live)"
            )
