"""The typed description of the server a command talks to (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from orchestrator.redaction import display_url
from orchestrator.server.config import ServerConfig

# Where the embedded target keeps its state, under the project root.
STATE_DIR = ".orchestrator"
STATE_DB = "server.sqlite3"

# The wire APIs a target may speak: "assistants" (Assistants v2: /v1/assistants, threads,
# runs) or "openai" (OpenAI today: files, vector stores, Managed Agents, Responses).
TargetApi = Literal["assistants", "openai"]
TARGET_APIS: tuple[str, ...] = ("assistants", "openai")
# Where `api: openai` goes unless a URL is given.
OPENAI_BASE_URL = "https://api.openai.com/v1"
# A base URL that names the embedded server (as `target: embedded` does).
EMBEDDED = "embedded"


def is_openai_host(url: str) -> bool:
    """Whether ``url`` is OpenAI's own API host."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".api.openai.com")


@dataclass(frozen=True, repr=False)
class Target:
    """Built by :func:`orchestrator.settings.resolve_settings`; opened by :func:`connect`."""

    kind: Literal["embedded", "url"]
    api: TargetApi = "assistants"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    # Embedded: where the server keeps its state, and how it is configured.
    state_dir: Path | None = None
    server: ServerConfig | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # The URL may carry a key (user:password@, ?key=): show it redacted.
        return f"Target({self.kind}, api={self.api}, {self.describe()})"

    def describe(self) -> str:
        """For messages; never includes the key."""
        if self.kind == "embedded":
            return f"embedded server (state in {self.state_dir})"
        return display_url(self.base_url or "?")

    @property
    def label(self) -> str:
        """How plans and lock files name the target (no key, no ephemeral port)."""
        if self.kind == "embedded":
            return "embedded"
        return display_url(self.base_url or "?")
