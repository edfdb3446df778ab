"""Which assistants can be published as OpenAI Managed Agents (``agent: true``), and why not.

A Managed Agent holds a model, instructions, function tools (no ``strict``), a reasoning
effort and a text format (``text`` or ``json_schema``). It has no file search and no code
interpreter, and no ``description``/``temperature``/``top_p``: those stay in the
assistant's Responses profile. The mapping itself is :mod:`orchestrator.reconcile.agents`.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.project.specs import AssistantSpec

# Assistant fields an agent has no place for (kept in the Responses profile).
PROFILE_ONLY_FIELDS = ("description", "temperature", "top_p")


@dataclass(frozen=True)
class Blocker:
    """Why an assistant cannot become an agent: ``where`` names the field or tool."""

    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


def agent_blockers(spec: AssistantSpec) -> list[Blocker]:
    """Everything in ``spec`` a Managed Agent cannot hold (empty: it can be one)."""
    out: list[Blocker] = []
    for i, tool in enumerate(spec.tools):
        if tool.type == "code_interpreter":
            out.append(
                Blocker(
                    f"tools[{i}] code_interpreter",
                    "Managed Agents have no code interpreter; it runs through the assistant's "
                    "Responses profile (a container with its files)",
                )
            )
        elif tool.type == "file_search":
            out.append(
                Blocker(
                    f"tools[{i}] file_search",
                    "Managed Agents have no file search; it runs through the assistant's "
                    "Responses profile (with its vector store)",
                )
            )
        elif tool.function is not None and tool.function.strict:
            out.append(
                Blocker(
                    f"tools[{i}] function {tool.function.name}",
                    "strict: true has no place on an agent's function tool; drop strict or "
                    "keep this assistant off agents",
                )
            )
    fmt = spec.response_format
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        out.append(
            Blocker(
                "response_format json_object",
                "an agent's text.format is text or json_schema; use a json_schema",
            )
        )
    return out


def profile_only_notes(spec: AssistantSpec) -> list[str]:
    """The set fields an agent does not hold (they live in the Responses profile)."""
    return [name for name in PROFILE_ONLY_FIELDS if getattr(spec, name) is not None]


def becomes_agent(spec: AssistantSpec) -> bool:
    """Published as a Managed Agent on ``api: openai``: asked for, and an agent can hold it."""
    return spec.agent and not agent_blockers(spec)
