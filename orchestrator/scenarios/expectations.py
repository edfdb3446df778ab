"""Per-turn expectations: typed from a scenario's ``expect:`` mapping, checked on a turn.

::

    expect:
      status: completed                       # default; or a list of allowed statuses
      # status: requires_action — the turn ends at the function calls: they are checked,
      #   none is answered (no handler needed), and the run is cancelled
      tool_calls:                             # list form: these calls, any order, others allowed
        - display_quiz: {title: {matches: ".+"}}
      # or the object form:
      # tool_calls: {calls: [...], order: exact|in_order|any, not: [name | {name: args}],
      #              count: {name: n}}
      reply: {contains: ..., contains_any: [...], not_contains: ..., matches: ..., json_schema: {...}}
      citations: {present: true, file: guide.md}
      steps: {code_interpreter: true, file_search: false, count: 2}

Cheap, deterministic checks only. Each failing check gives one
:class:`ExpectationFailure` with what was expected and what happened.
``tool_calls`` look at function calls; built-in tools are checked with ``steps``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema

from orchestrator.scenarios.matchers import describe, match_arguments, show
from orchestrator.scenarios.observed import ToolCallRecord, TurnRecord

Order = Literal["exact", "in_order", "any"]
# As the Scenario schema says: the calls happen, in any order, among others.
DEFAULT_ORDER: Order = "any"
RUN_STATUSES = (
    "completed",
    "failed",
    "cancelled",
    "expired",
    "incomplete",
    "requires_action",
)


class ExpectationError(ValueError):
    """An ``expect:`` mapping that cannot be understood (names the offending part)."""


@dataclass
class ExpectationFailure:
    # Which expectation, e.g. "reply.contains" or "tool_calls[0]".
    check: str
    expected: str
    actual: str

    def render(self) -> str:
        return f"{self.check}: expected {self.expected}\n    actual: {self.actual}"


@dataclass
class CallExpectation:
    name: str
    # Argument subset with matchers; None: any arguments.
    args: dict[str, Any] | None = None

    def describe(self) -> str:
        if not self.args:
            return f"{self.name}(…)"
        inner = ", ".join(f"{k} {describe(v)}" for k, v in self.args.items())
        return f"{self.name}({inner})"

    def mismatch(self, call: ToolCallRecord) -> str | None:
        if call.name != self.name:
            return f"called {call.name}, not {self.name}"
        if call.arguments is None and self.args:
            return f"its arguments are not JSON: {call.raw_arguments!r}"
        return match_arguments(self.args, call.arguments)


@dataclass
class ToolCallsExpectation:
    calls: list[CallExpectation] = field(default_factory=list)
    order: Order = DEFAULT_ORDER
    forbidden: list[CallExpectation] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ReplyExpectation:
    contains: list[str] = field(default_factory=list)
    contains_any: list[str] = field(default_factory=list)
    not_contains: list[str] = field(default_factory=list)
    matches: list[str] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None


@dataclass
class CitationsExpectation:
    present: bool | None = None
    files: list[str] = field(default_factory=list)


@dataclass
class StepsExpectation:
    code_interpreter: bool | None = None
    file_search: bool | None = None
    count: int | None = None


@dataclass
class TurnExpectation:
    status: list[str] = field(default_factory=lambda: ["completed"])
    tool_calls: ToolCallsExpectation | None = None
    reply: ReplyExpectation | None = None
    citations: CitationsExpectation | None = None
    steps: StepsExpectation | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> TurnExpectation:
        return parse_expectation(raw or {})

    def check(self, turn: TurnRecord) -> list[ExpectationFailure]:
        out: list[ExpectationFailure] = []
        out += _check_status(self.status, turn)
        if self.tool_calls is not None:
            out += _check_tool_calls(self.tool_calls, turn.function_calls)
        if self.reply is not None:
            out += _check_reply(self.reply, turn.reply)
        if self.citations is not None:
            out += _check_citations(self.citations, turn)
        if self.steps is not None:
            out += _check_steps(self.steps, turn)
        return out


# --- parsing ----------------------------------------------------------------------


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, str):
            raise ExpectationError(
                f"{where}: expected a string or a list of strings, got {show(item)}"
            )
    return list(items)


def _call(entry: Any, where: str) -> CallExpectation:
    if isinstance(entry, str):
        return CallExpectation(entry)
    if isinstance(entry, dict) and len(entry) == 1:
        name, args = next(iter(entry.items()))
        if args is not None and not isinstance(args, dict):
            raise ExpectationError(
                f"{where}: the arguments of {name} must be a mapping of argument -> matcher, "
                f"got {show(args)}"
            )
        return CallExpectation(str(name), args or None)
    raise ExpectationError(
        f"{where}: expected a function name or {{name: {{argument: matcher}}}}, got {show(entry)}"
    )


def _calls(value: Any, where: str) -> list[CallExpectation]:
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    return [_call(e, f"{where}[{i}]") for i, e in enumerate(value)]


def _parse_tool_calls(raw: Any) -> ToolCallsExpectation:
    if isinstance(raw, list):
        return ToolCallsExpectation(calls=_calls(raw, "tool_calls"))
    if not isinstance(raw, dict):
        raise ExpectationError(f"tool_calls: expected a list or a mapping, got {show(raw)}")
    unknown = set(raw) - {"calls", "order", "not", "count"}
    if unknown:
        raise ExpectationError(
            f"tool_calls: unknown field(s) {', '.join(sorted(unknown))}; "
            "expected calls, order, not, count"
        )
    order = raw.get("order", DEFAULT_ORDER)
    if order not in ("exact", "in_order", "any"):
        raise ExpectationError(
            f"tool_calls.order: expected exact, in_order or any, got {show(order)}"
        )
    counts = raw.get("count") or {}
    if not isinstance(counts, dict) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()
    ):
        raise ExpectationError(
            f"tool_calls.count: expected {{function_name: number}}, got {show(counts)}"
        )
    return ToolCallsExpectation(
        calls=_calls(raw.get("calls"), "tool_calls.calls"),
        order=order,
        forbidden=_calls(raw.get("not"), "tool_calls.not"),
        counts={str(k): int(v) for k, v in counts.items()},
    )


def _parse_reply(raw: Any) -> ReplyExpectation:
    if isinstance(raw, str):  # shorthand: `reply: text` means contains
        return ReplyExpectation(contains=[raw])
    if not isinstance(raw, dict):
        raise ExpectationError(f"reply: expected a mapping, got {show(raw)}")
    unknown = set(raw) - {"contains", "contains_any", "not_contains", "matches", "json_schema"}
    if unknown:
        raise ExpectationError(
            f"reply: unknown field(s) {', '.join(sorted(unknown))}; expected contains, "
            "contains_any, not_contains, matches, json_schema"
        )
    patterns = _strings(raw.get("matches"), "reply.matches")
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ExpectationError(
                f"reply.matches: /{p}/ is not a valid regular expression ({exc})"
            ) from None
    schema = raw.get("json_schema")
    if schema is not None:
        if not isinstance(schema, dict):
            raise ExpectationError("reply.json_schema: expected a JSON Schema mapping")
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ExpectationError(
                f"reply.json_schema is not a valid JSON Schema: {exc.message}"
            ) from None
    return ReplyExpectation(
        contains=_strings(raw.get("contains"), "reply.contains"),
        contains_any=_strings(raw.get("contains_any"), "reply.contains_any"),
        not_contains=_strings(raw.get("not_contains"), "reply.not_contains"),
        matches=patterns,
        json_schema=schema,
    )


def _bool(raw: dict[str, Any], key: str, where: str) -> bool | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, bool):
        raise ExpectationError(f"{where}.{key}: expected true or false, got {show(value)}")
    return value


def parse_expectation(raw: dict[str, Any]) -> TurnExpectation:
    if not isinstance(raw, dict):
        raise ExpectationError(f"expect: expected a mapping, got {show(raw)}")
    unknown = set(raw) - {"status", "tool_calls", "reply", "citations", "steps"}
    if unknown:
        raise ExpectationError(
            f"expect: unknown field(s) {', '.join(sorted(unknown))}; expected status, "
            "tool_calls, reply, citations, steps"
        )
    exp = TurnExpectation()
    if "status" in raw:
        exp.status = _strings(raw["status"], "status")
        bad = [s for s in exp.status if s not in RUN_STATUSES]
        if bad:
            raise ExpectationError(
                f"status: {', '.join(bad)} is not a run status; expected one of {', '.join(RUN_STATUSES)}"
            )
    if raw.get("tool_calls") is not None:
        exp.tool_calls = _parse_tool_calls(raw["tool_calls"])
    if raw.get("reply") is not None:
        exp.reply = _parse_reply(raw["reply"])
    if raw.get("citations") is not None:
        c = raw["citations"]
        if isinstance(c, bool):
            exp.citations = CitationsExpectation(present=c)
        elif isinstance(c, dict):
            files = _strings(c.get("file"), "citations.file") + _strings(
                c.get("files"), "citations.files"
            )
            exp.citations = CitationsExpectation(
                present=_bool(c, "present", "citations"), files=files
            )
        else:
            raise ExpectationError(f"citations: expected a mapping, got {show(c)}")
    if raw.get("steps") is not None:
        s = raw["steps"]
        if not isinstance(s, dict):
            raise ExpectationError(f"steps: expected a mapping, got {show(s)}")
        count = s.get("count")
        if count is not None and (
            not isinstance(count, int) or isinstance(count, bool) or count < 0
        ):
            raise ExpectationError(f"steps.count: expected a number, got {show(count)}")
        exp.steps = StepsExpectation(
            code_interpreter=_bool(s, "code_interpreter", "steps"),
            file_search=_bool(s, "file_search", "steps"),
            count=count,
        )
    return exp


# --- checking ---------------------------------------------------------------------


def _calls_text(calls: list[ToolCallRecord]) -> str:
    if not calls:
        return "no function calls"
    return "; ".join(f"{c.name}({c.raw_arguments})" for c in calls)


def _reply_text(reply: str, limit: int = 400) -> str:
    if not reply:
        return "no reply"
    return show(reply, limit)


def _check_status(allowed: list[str], turn: TurnRecord) -> list[ExpectationFailure]:
    if turn.status in allowed:
        return []
    actual = str(turn.status)
    if turn.last_error:
        actual += f" ({turn.last_error.get('code')}: {turn.last_error.get('message')})"
    if turn.incomplete_reason:
        actual += f" (incomplete: {turn.incomplete_reason})"
    return [ExpectationFailure("status", " or ".join(allowed), actual)]


def _assign_any(expected: list[CallExpectation], calls: list[ToolCallRecord]) -> bool:
    """Can every expectation take a distinct matching call? (small bipartite search)"""
    options = [[i for i, c in enumerate(calls) if e.mismatch(c) is None] for e in expected]
    used: set[int] = set()

    def place(k: int) -> bool:
        if k == len(options):
            return True
        for i in options[k]:
            if i not in used:
                used.add(i)
                if place(k + 1):
                    return True
                used.discard(i)
        return False

    return place(0)


def _closest_reason(exp: CallExpectation, calls: list[ToolCallRecord]) -> str:
    same = [c for c in calls if c.name == exp.name]
    if not same:
        return f"{exp.name} was not called"
    reasons = [r for c in same if (r := exp.mismatch(c))]
    return f"{exp.name} was called, but {reasons[0]}" if reasons else f"{exp.name} was called"


def _check_tool_calls(
    exp: ToolCallsExpectation, calls: list[ToolCallRecord]
) -> list[ExpectationFailure]:
    out: list[ExpectationFailure] = []
    actual = _calls_text(calls)
    if exp.calls:
        wanted = ", ".join(e.describe() for e in exp.calls)
        if exp.order == "exact":
            if len(calls) != len(exp.calls):
                out.append(
                    ExpectationFailure(
                        "tool_calls",
                        f"exactly [{wanted}]",
                        f"{len(calls)} call(s): {actual}",
                    )
                )
            else:
                for i, (e, c) in enumerate(zip(exp.calls, calls, strict=False)):
                    reason = e.mismatch(c)
                    if reason:
                        out.append(
                            ExpectationFailure(
                                f"tool_calls[{i}]", e.describe(), f"{reason} — calls: {actual}"
                            )
                        )
        elif exp.order == "in_order":
            pos = 0
            for i, e in enumerate(exp.calls):
                while pos < len(calls) and e.mismatch(calls[pos]) is not None:
                    pos += 1
                if pos == len(calls):
                    out.append(
                        ExpectationFailure(
                            f"tool_calls[{i}]",
                            f"{e.describe()}" + (" after the calls before it" if i else ""),
                            f"{_closest_reason(e, calls)} — calls: {actual}",
                        )
                    )
                    break
                pos += 1
        elif not _assign_any(exp.calls, calls):
            missing = [e for e in exp.calls if not any(e.mismatch(c) is None for c in calls)]
            detail = "; ".join(_closest_reason(e, calls) for e in missing) or (
                "not enough distinct calls for every expectation"
            )
            out.append(
                ExpectationFailure(
                    "tool_calls", f"calls (any order) [{wanted}]", f"{detail} — calls: {actual}"
                )
            )
    for e in exp.forbidden:
        hits = [c for c in calls if e.mismatch(c) is None]
        if hits:
            out.append(
                ExpectationFailure(
                    "tool_calls.not", f"no call {e.describe()}", f"calls: {_calls_text(hits)}"
                )
            )
    for name, n in exp.counts.items():
        got = sum(1 for c in calls if c.name == name)
        if got != n:
            out.append(
                ExpectationFailure(
                    f"tool_calls.count.{name}", f"{n} call(s) of {name}", f"{got} — calls: {actual}"
                )
            )
    return out


def _extract_json(reply: str) -> Any:
    text = reply.strip()
    fenced = re.search(r"```(?:json)?\s*\n(.*?)```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    return json.loads(text)


def _check_reply(exp: ReplyExpectation, reply: str) -> list[ExpectationFailure]:
    out = []
    shown = _reply_text(reply)
    for s in exp.contains:
        if s not in reply:
            out.append(
                ExpectationFailure("reply.contains", f"the reply to contain {show(s)}", shown)
            )
    if exp.contains_any and not any(s in reply for s in exp.contains_any):
        out.append(
            ExpectationFailure(
                "reply.contains_any",
                "the reply to contain one of " + ", ".join(show(s) for s in exp.contains_any),
                shown,
            )
        )
    for s in exp.not_contains:
        if s in reply:
            out.append(
                ExpectationFailure(
                    "reply.not_contains", f"the reply not to contain {show(s)}", shown
                )
            )
    for p in exp.matches:
        if re.search(p, reply) is None:
            out.append(ExpectationFailure("reply.matches", f"the reply to match /{p}/", shown))
    if exp.json_schema is not None:
        try:
            data = _extract_json(reply)
        except (json.JSONDecodeError, ValueError) as exc:
            out.append(ExpectationFailure("reply.json_schema", f"a JSON reply ({exc})", shown))
        else:
            cls = jsonschema.validators.validator_for(exp.json_schema)
            errors = sorted(
                cls(exp.json_schema).iter_errors(data), key=lambda e: list(e.absolute_path)
            )
            if errors:
                problems = "; ".join(
                    f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                    for e in errors[:5]
                )
                out.append(
                    ExpectationFailure(
                        "reply.json_schema",
                        "a reply valid against the JSON Schema",
                        f"{problems} — reply: {shown}",
                    )
                )
    return out


def _check_citations(exp: CitationsExpectation, turn: TurnRecord) -> list[ExpectationFailure]:
    out = []
    cites = turn.citations
    actual = (
        ", ".join(f"{c.text} -> {c.filename or c.file_id}" for c in cites)
        if cites
        else "no citations"
    )
    if exp.present is True and not cites:
        out.append(ExpectationFailure("citations.present", "file citations in the reply", actual))
    if exp.present is False and cites:
        out.append(ExpectationFailure("citations.present", "no file citations", actual))
    for name in exp.files:
        if not any(name in (c.filename, c.file_id) for c in cites):
            out.append(ExpectationFailure("citations.file", f"a citation of {name}", actual))
    return out


def _check_steps(exp: StepsExpectation, turn: TurnRecord) -> list[ExpectationFailure]:
    out = []
    kinds = [c.type for c in turn.tool_calls]
    summary = (
        ", ".join(
            s.type
            if s.type == "message_creation"
            else "tool_calls(" + ", ".join(c.name for c in s.tool_calls) + ")"
            for s in turn.steps
        )
        or "no steps"
    )
    for tool in ("code_interpreter", "file_search"):
        want = getattr(exp, tool)
        if want is None:
            continue
        used = tool in kinds
        if want and not used:
            out.append(ExpectationFailure(f"steps.{tool}", f"a {tool} call", summary))
        if not want and used:
            out.append(ExpectationFailure(f"steps.{tool}", f"no {tool} call", summary))
    if exp.count is not None and len(turn.steps) != exp.count:
        out.append(
            ExpectationFailure(
                "steps.count", f"{exp.count} run step(s)", f"{len(turn.steps)}: {summary}"
            )
        )
    return out
