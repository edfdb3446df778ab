"""Settings of one server instance (the CLI and tests build these; the app reads them)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from orchestrator.redaction import url_secrets

# How an upstream's model writes tool calls (providers/chat_text_tools.py).
ToolCallFormat = Literal["native", "json-in-text", "auto"]
TOOL_CALL_FORMATS: tuple[ToolCallFormat, ...] = ("native", "json-in-text", "auto")


@dataclass
class SandboxLimits:
    """Limits for code run by the code interpreter tool."""

    timeout_seconds: float = 30.0
    memory_mb: int = 512
    max_output_bytes: int = 64 * 1024
    max_file_bytes: int = 32 * 1024 * 1024
    # "auto": the strongest isolation this machine has, and no code interpreter if that is
    # only the audit hook; "weak": the same, but run code in the audit-hook mode rather
    # than not at all (an operator's explicit choice); or one mode by name (tests).
    isolation: str = "auto"
    # Per execution, summed over all its processes (RLIMIT_AS above is per process):
    # memory is memory_mb; CPU time defaults to the timeout plus a second.
    cpu_seconds: float | None = None
    # The thread's working directory (hidden files included), across its executions.
    disk_mb: int = 512
    max_concurrent: int = 4  # executions at once, server-wide; more wait for a slot


@dataclass
class HttpLimits:
    """What one client may hold of the server: connections, time to send, bytes sent.

    Sizes mirror OpenAI's: a file upload is up to 512 MB; other requests are JSON
    (OpenAI caps a chat message at 10 MiB of text, so 32 MB leaves room for images).
    """

    # Seconds a client has to finish a request's headers (a slow-header client is cut off).
    header_timeout_seconds: float = 10.0
    # Seconds the server waits for the next piece of a request body that has started.
    body_timeout_seconds: float = 60.0
    # Open connections at once; more are answered 503 and closed. Lowered at start to
    # what the process's open-file limit leaves room for.
    max_connections: int = 1000
    max_body_mb: int = 32
    max_upload_mb: int = 512


@dataclass
class UpstreamConfig:
    """Where the ``chat`` model provider sends generation (any /v1/chat/completions)."""

    base_url: str
    # Not in the repr: keys must not end up in logs or test output.
    api_key: str | None = field(default=None, repr=False)
    # assistant `model` -> upstream model name; unmapped names pass through.
    model_map: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 120.0
    max_retries: int = 3
    max_tool_rounds: int = 8
    tool_call_format: ToolCallFormat = "native"


@dataclass
class ServerConfig:
    # SQLite file; None keeps all state in memory (tests, throwaway servers).
    db_path: Path | None = None
    api_key: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    model_provider: Literal["local", "chat"] = "local"
    upstream: UpstreamConfig | None = None
    # Runs executed at once; further runs wait queued.
    max_concurrent_runs: int = 16
    # A run not finished this long after creation expires (OpenAI: 10 minutes).
    run_expiry_seconds: int = 600
    # How long one minute of a container's `expires_after` lasts: 60 seconds, always, for
    # users; a test shortens it to see a container expire (the same expiry code either way).
    container_minute_seconds: float = 60.0
    # The model's context window, in tokens (as the local model counts them). A response
    # with `truncation: "auto"` drops its oldest items to fit; "disabled" is a 400.
    context_window_tokens: int = 128_000
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    http: HttpLimits = field(default_factory=HttpLimits)

    def secrets(self) -> tuple[str, ...]:
        """What no log line or error may show: the keys and the upstream URL's credentials."""
        upstream = self.upstream
        found = [self.api_key, upstream.api_key if upstream else None]
        found += url_secrets(upstream.base_url) if upstream else ()
        return tuple(s for s in found if s)

    @property
    def data_dir(self) -> Path | None:
        return self.db_path.parent if self.db_path else None

    def is_loopback(self) -> bool:
        # IP literals only (and "localhost"): a name like 127.0.0.1.nip.io looks local
        # but resolves wherever DNS says.
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
