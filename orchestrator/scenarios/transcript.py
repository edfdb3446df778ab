"""Readable transcripts: Markdown per scenario (``--transcript DIR``) and plain text for
failure messages.

Transcripts hold the conversation only — no ids, timings or cassette mode — so a
recorded run and its replay produce the same transcript.
"""

from __future__ import annotations

import json
import re
from typing import Any

from orchestrator.scenarios.observed import ToolCallRecord, TurnRecord
from orchestrator.scenarios.results import ScenarioResult

_MAX_OUTPUT = 4000


def _clip(text: str, limit: int = _MAX_OUTPUT) -> str:
    return (
        text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"
    )


def _pretty_args(call: ToolCallRecord) -> str:
    if call.arguments is None:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False, indent=2)


def _result_files(call: ToolCallRecord) -> list[str]:
    return sorted({str(r.get("file_name") or r.get("file_id")) for r in call.results})


def _fence(body: str, lang: str = "") -> str:
    # A fence longer than any backtick run inside, so code with ``` stays intact.
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{body.rstrip()}\n{ticks}"


def _quote(text: str) -> str:
    return "\n".join("> " + ln if ln else ">" for ln in text.splitlines()) or ">"


def turn_markdown(turn: TurnRecord) -> str:
    out: list[str] = [f"## Turn {turn.index + 1}", "", "**User**", "", _quote(turn.user), ""]
    for step in turn.steps:
        for c in step.tool_calls:
            if c.type == "function":
                src = f" ({c.output_source})" if c.output_source else ""
                out += [
                    f"**Function call** `{c.name}`{src}",
                    "",
                    _fence(_pretty_args(c), "json"),
                    "",
                ]
                if c.output is not None:
                    out += ["Output:", "", _fence(_clip(c.output)), ""]
            elif c.type == "code_interpreter":
                out += ["**Code interpreter**", "", _fence(c.code or "", "python"), ""]
                if c.output:
                    out += ["Output:", "", _fence(_clip(c.output)), ""]
                if c.images:
                    out += [f"Images: {len(c.images)}", ""]
            else:
                # Files only, sorted: scores depend on the query, which the API does not
                # expose (a replay searches with the user's message); they are in the JSON.
                found = ", ".join(_result_files(c))
                out += [
                    f"**File search** — {'results from ' + found if found else 'no results'}",
                    "",
                ]
    for reply in turn.replies:
        out += ["**Assistant**", "", _quote(reply), ""]
    if turn.citations:
        # Responses citations have no marker text: a file at a position.
        cites = "; ".join(
            f"{c.text} → {c.filename or c.file_id}" if c.text else (c.filename or c.file_id)
            for c in turn.citations
        )
        out += [f"Citations: {cites}", ""]
    status = str(turn.status)
    if turn.last_error:
        status += f" — {turn.last_error.get('code')}: {turn.last_error.get('message')}"
    out += [f"Status: {status}", ""]
    return "\n".join(out)


def scenario_markdown(result: ScenarioResult) -> str:
    out = [
        f"# {result.name}",
        "",
        f"- scenario: `{result.source}`",
        f"- assistant: `{result.assistant}`",
        f"- result: **{result.outcome}**",
        "",
    ]
    for turn in result.turns:
        out.append(turn_markdown(turn))
    problems = result.problems()
    if problems:
        out += ["## Problems", ""]
        for p in problems:
            out += [_fence(p.render()), ""]
    return "\n".join(out).rstrip() + "\n"


def turn_text(turn: TurnRecord, indent: str = "    ") -> str:
    """A compact plain-text transcript of one turn, for failure messages."""
    lines = [f"user: {turn.user}"]
    for c in turn.tool_calls:
        if c.type == "function":
            lines.append(f"call: {c.name}({c.raw_arguments})")
            if c.output is not None:
                lines.append(f"  -> {_clip(c.output, 300)}")
        elif c.type == "code_interpreter":
            lines.append("code_interpreter:")
            lines += ["  " + ln for ln in (c.code or "").splitlines()]
            if c.output:
                lines.append(f"  -> {_clip(c.output, 300)}")
        else:
            lines.append(f"file_search: {', '.join(_result_files(c)) or 'no results'}")
    for reply in turn.replies:
        lines.append(f"assistant: {_clip(reply, 1000)}")
    status = f"status: {turn.status}"
    if turn.last_error:
        status += f" ({turn.last_error.get('code')}: {turn.last_error.get('message')})"
    lines.append(status)
    return "\n".join(indent + ln for ln in "\n".join(lines).splitlines())


def slug(name: str, attempt: int = 1) -> str:
    base = re.sub(r"[^\w.-]+", "-", name, flags=re.UNICODE).strip("-").lower() or "scenario"
    return base if attempt == 1 else f"{base}.{attempt}"


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
