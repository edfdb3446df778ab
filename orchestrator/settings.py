"""The one place settings are resolved: flags > orchestrator.yaml > environment > defaults.

Every command, ``orchestrator serve``, the pytest plugin and library users call
:func:`resolve_settings` and get a typed :class:`Settings`: the namespace, the
:class:`~orchestrator.targets.Target` commands talk to, and the
:class:`~orchestrator.server.config.ServerConfig` of the embedded server (the one
``serve`` runs, and the one the embedded target starts in-process).

=========================  ==========================  ======================================  ================
setting                    orchestrator.yaml           environment                             default
=========================  ==========================  ======================================  ================
namespace                  ``namespace``               ``ORCHESTRATOR_NAMESPACE``              ``default``
target base URL            ``target.base_url``         ``OPENAI_BASE_URL``                     embedded [1]_
target key                 ``target.api_key``          ``OPENAI_API_KEY``                      none
target API                 ``target.api``              --                                      ``assistants``
serve host / port          --                          --                                      127.0.0.1 / 8000
serve database             --                          --                                      ``<root>/.orchestrator/server.sqlite3``
serve key                  --                          ``ORCHESTRATOR_API_KEY``                none
model provider             ``server.model_provider``   ``ORCHESTRATOR_MODEL_PROVIDER``         ``local``
upstream URL / key         ``server.upstream_*``       ``ORCHESTRATOR_UPSTREAM_BASE_URL`` ...  none
model map                  ``server.model_map``        ``ORCHESTRATOR_MODEL_MAP``              {}
upstream limits            ``server.upstream_*``       ``ORCHESTRATOR_UPSTREAM_TIMEOUT`` ...   120 s, 3, 8
run expiry / concurrency   ``server.*``                ``ORCHESTRATOR_RUN_EXPIRY_SECONDS`` ... 600 s, 16
sandbox limits             ``server.sandbox_*``        ``ORCHESTRATOR_SANDBOX_TIMEOUT`` ...    30 s, 512 MB
sandbox isolation          --                          ``ORCHESTRATOR_SANDBOX_ISOLATION``      ``auto``
sandbox disk / executions  --                          ``ORCHESTRATOR_SANDBOX_DISK_MB`` ...    512 MB, 4
client limits              --                          ``ORCHESTRATOR_HEADER_TIMEOUT`` ...     10 s, 60 s, 1000, 32/512 MB
context window / minute    --                          ``ORCHESTRATOR_CONTEXT_WINDOW_TOKENS``  128,000 tokens, 60 s [2]_
=========================  ==========================  ======================================  ================

.. [1] For ``api: openai``, OpenAI's base URL; ``embedded`` (or ``target: embedded``)
   names the embedded server for either API. The Assistants API on OpenAI's own host is
   refused: OpenAI retired it on 2026-08-26.
.. [2] ``ORCHESTRATOR_CONTAINER_MINUTE_SECONDS``: how long one minute of a container's
   ``expires_after`` lasts (tests shorten it).

The model map merges per name (a higher layer wins for the names it sets). A bad value in
any layer raises :class:`SettingsError` naming where it came from; nothing is dropped
silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.project import PROJECT_FILE, ProjectConfig, load_project_config
from orchestrator.redaction import display_url
from orchestrator.server.config import (
    TOOL_CALL_FORMATS,
    HttpLimits,
    SandboxLimits,
    ServerConfig,
    UpstreamConfig,
)
from orchestrator.server.tools.code_interpreter import ISOLATION_ENV, POLICIES
from orchestrator.targets.target import (
    EMBEDDED,
    OPENAI_BASE_URL,
    STATE_DB,
    STATE_DIR,
    TARGET_APIS,
    Target,
    is_openai_host,
)

T = TypeVar("T")

MEMORY_DB = ":memory:"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names its source and what to do."""


@dataclass(frozen=True)
class Flags:
    """What the caller set explicitly (command-line flags, plugin options). None: not set."""

    namespace: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api: str | None = None
    # `orchestrator serve` only.
    host: str | None = None
    port: int | None = None
    db_path: str | Path | None = None
    server_api_key: str | None = field(default=None, repr=False)
    # The embedded server (serve, and the embedded target).
    model_provider: str | None = None
    upstream_base_url: str | None = None
    upstream_api_key: str | None = field(default=None, repr=False)
    model_map: tuple[str, ...] | None = None  # NAME=UPSTREAM items
    upstream_timeout: float | None = None
    upstream_max_retries: int | None = None
    upstream_max_tool_rounds: int | None = None
    upstream_tool_call_format: str | None = None
    run_expiry_seconds: int | None = None
    container_minute_seconds: float | None = None
    context_window_tokens: int | None = None
    max_concurrent_runs: int | None = None
    sandbox_timeout: float | None = None
    sandbox_memory_mb: int | None = None
    sandbox_isolation: str | None = None
    sandbox_disk_mb: int | None = None
    sandbox_max_concurrent: int | None = None
    # What one client may hold of the server (ServerConfig.http).
    header_timeout: float | None = None
    body_timeout: float | None = None
    max_connections: int | None = None
    max_body_mb: int | None = None
    max_upload_mb: int | None = None


@dataclass(frozen=True)
class Settings:
    root: Path
    namespace: str
    target: Target
    # The embedded server's configuration (what `serve` runs; the embedded target
    # starts it with a fresh port and key, see orchestrator.targets.connect).
    server: ServerConfig


# --- one setting through the layers --------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where a value came from, for error messages."""

    flag: str | None = None
    yaml: str | None = None
    env: str | None = None


def _pick(
    source: _Source,
    flag: T | None,
    yaml: T | None,
    environ: Mapping[str, str],
    default: T,
    parse: Callable[[str, str], T],
    check: Callable[[T, str], T] = lambda value, where: value,
) -> T:
    """The first layer that sets the value, checked; ``where`` names that layer."""
    if flag is not None:
        return check(flag, source.flag or "the caller")
    if yaml is not None:
        return check(yaml, f"{PROJECT_FILE} {source.yaml}")
    if source.env and environ.get(source.env):
        return check(parse(environ[source.env], source.env), source.env)
    return default


def _text(raw: str, where: str) -> str:
    return raw


def _number(kind: type[Any], minimum: float) -> tuple[Callable[[str, str], Any], Callable]:
    name = "a whole number" if kind is int else "a number"

    def parse(raw: str, where: str) -> Any:
        try:
            return kind(raw.strip())
        except ValueError:
            raise SettingsError(f"{where}: expected {name} >= {minimum:g}, got {raw!r}") from None

    def check(value: Any, where: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{where}: expected {name} >= {minimum:g}, got {value!r}")
        if kind is int and not isinstance(value, int):
            raise SettingsError(f"{where}: expected {name} >= {minimum:g}, got {value!r}")
        if value < minimum:
            raise SettingsError(f"{where}: expected {name} >= {minimum:g}, got {value!r}")
        return kind(value)

    return parse, check


def _choice(options: tuple[str, ...]) -> Callable[[Any, str], Any]:
    def check(value: Any, where: str) -> Any:
        if value not in options:
            allowed = ", ".join(repr(o) for o in options)
            raise SettingsError(f"{where}: {value!r} is not one of {allowed}")
        return value

    return check


def parse_model_map(items: list[str] | tuple[str, ...], where: str) -> dict[str, str]:
    """``NAME=UPSTREAM`` items (``*=NAME`` maps every other name); a bad item is an error."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, upstream = item.partition("=")
        if not sep or not name.strip() or not upstream.strip():
            raise SettingsError(
                f"{where}: expected ASSISTANT_MODEL=UPSTREAM_MODEL (e.g. gpt-4o=llama3), "
                f"got {item!r}"
            )
        mapping[name.strip()] = upstream.strip()
    return mapping


# --- the resolver ---------------------------------------------------------------------


def resolve_settings(
    project: Path | ProjectConfig,
    flags: Flags | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings for a project (its root, or its loaded :class:`ProjectConfig`).

    Given a root, reads only orchestrator.yaml and raises :class:`SettingsError` when it
    has errors. ``environ`` replaces ``os.environ`` (tests).
    """
    flags = flags or Flags()
    env = os.environ if environ is None else environ
    if isinstance(project, ProjectConfig):
        config = project
    else:
        config, problems = load_project_config(project, environ=environ)
        errors = [d for d in problems if d.severity == "error"]
        if errors:
            raise SettingsError(
                "; ".join(str(d) for d in errors) + f" (fix {PROJECT_FILE} and run again)"
            )
    root = config.root
    server = _server_config(config, flags, env, root)
    return Settings(
        root=root,
        namespace=_namespace(config, flags, env),
        target=_target(config, flags, env, server, root),
        server=server,
    )


def _namespace(config: ProjectConfig, flags: Flags, env: Mapping[str, str]) -> str:
    return _pick(
        _Source("--namespace", "namespace", "ORCHESTRATOR_NAMESPACE"),
        flags.namespace,
        config.namespace if config.namespace_set else None,
        env,
        "default",
        _text,
    )


def _target(
    config: ProjectConfig,
    flags: Flags,
    env: Mapping[str, str],
    server: ServerConfig,
    root: Path,
) -> Target:
    api = _pick(
        _Source("api", "target.api"), flags.api, config.api, env, "assistants", _text,
        _choice(TARGET_APIS),
    )  # fmt: skip
    # `target: embedded` (the string form) picks the embedded server whatever the API.
    embedded = config.target_embedded and flags.base_url is None
    base_url = _pick(
        _Source("--base-url", "target.base_url", "OPENAI_BASE_URL"),
        flags.base_url or None,
        config.base_url,
        env,
        None,
        _text,
    )
    if base_url == EMBEDDED:
        base_url = None
    elif not base_url and api == "openai" and not embedded:
        base_url = OPENAI_BASE_URL
    if base_url and api == "assistants" and is_openai_host(base_url):
        raise SettingsError(
            f"{display_url(base_url)} is OpenAI's own host, which has answered the Assistants "
            "API (/v1/assistants, /v1/threads) with 404 since 2026-08-26. To sync to OpenAI "
            "today, set `target: {api: openai}` in orchestrator.yaml (or pass --api openai): "
            "files and vector stores as before, Managed Agents for assistants with "
            "`agent: true`, and a Responses profile per assistant in the lock file."
        )
    if base_url:
        api_key = _pick(
            _Source("--api-key", "target.api_key", "OPENAI_API_KEY"),
            flags.api_key or None,
            config.api_key,
            env,
            None,
            _text,
        )
        return Target(kind="url", api=api, base_url=base_url.rstrip("/"), api_key=api_key)  # type: ignore[arg-type]
    return Target(kind="embedded", api=api, state_dir=root / STATE_DIR, server=server)  # type: ignore[arg-type]


def _server_config(
    config: ProjectConfig, flags: Flags, env: Mapping[str, str], root: Path
) -> ServerConfig:
    yaml = config.server

    def number(name: str, kind: type[Any], minimum: float, default: Any) -> Any:
        parse, check = _number(kind, minimum)
        return _pick(
            _Source(
                f"--{name.replace('_', '-')}", f"server.{name}", f"ORCHESTRATOR_{name.upper()}"
            ),
            getattr(flags, name),
            getattr(yaml, name),
            env,
            default,
            parse,
            check,
        )

    def flag_or_env(name: str, kind: type[Any], minimum: float, default: Any) -> Any:
        # Not (yet) in orchestrator.yaml's schema: flag, environment, default.
        parse, check = _number(kind, minimum)
        return _pick(
            _Source(f"--{name.replace('_', '-')}", None, f"ORCHESTRATOR_{name.upper()}"),
            getattr(flags, name),
            None,
            env,
            default,
            parse,
            check,
        )

    def text(name: str) -> str | None:
        return _pick(
            _Source(
                f"--{name.replace('_', '-')}", f"server.{name}", f"ORCHESTRATOR_{name.upper()}"
            ),
            getattr(flags, name) or None,
            getattr(yaml, name),
            env,
            None,
            _text,
        )

    provider = _pick(
        _Source("--model-provider", "server.model_provider", "ORCHESTRATOR_MODEL_PROVIDER"),
        flags.model_provider,
        yaml.model_provider,
        env,
        "local",
        _text,
        _choice(("local", "chat")),
    )
    db = flags.db_path if flags.db_path is not None else root / STATE_DIR / STATE_DB
    server = ServerConfig(
        db_path=None if str(db) == MEMORY_DB else Path(db),
        api_key=_pick(
            _Source("--api-key", None, "ORCHESTRATOR_API_KEY"),
            flags.server_api_key or None,
            None,
            env,
            None,
            _text,
        ),
        host=flags.host or "127.0.0.1",
        port=8000 if flags.port is None else flags.port,
        model_provider=provider,
        run_expiry_seconds=number("run_expiry_seconds", int, 1, 600),
        max_concurrent_runs=number("max_concurrent_runs", int, 1, 16),
        container_minute_seconds=flag_or_env("container_minute_seconds", float, 0.1, 60.0),
        context_window_tokens=flag_or_env("context_window_tokens", int, 64, 128_000),
        sandbox=SandboxLimits(
            timeout_seconds=number("sandbox_timeout", float, 0.1, 30.0),
            memory_mb=number("sandbox_memory_mb", int, 32, 512),
            isolation=_pick(
                _Source("--sandbox-isolation", None, ISOLATION_ENV),
                flags.sandbox_isolation,
                None,
                env,
                "auto",
                _text,
                _choice(POLICIES),
            ),
            disk_mb=flag_or_env("sandbox_disk_mb", int, 1, 512),
            max_concurrent=flag_or_env("sandbox_max_concurrent", int, 1, 4),
        ),
        http=HttpLimits(
            header_timeout_seconds=flag_or_env("header_timeout", float, 0.1, 10.0),
            body_timeout_seconds=flag_or_env("body_timeout", float, 0.1, 60.0),
            max_connections=flag_or_env("max_connections", int, 1, 1000),
            max_body_mb=flag_or_env("max_body_mb", int, 1, 32),
            max_upload_mb=flag_or_env("max_upload_mb", int, 1, 512),
        ),
    )
    # Parsed whatever the provider, so a malformed item is an error even before it matters.
    model_map = _model_map(yaml.model_map, flags.model_map, env)
    upstream_url = text("upstream_base_url")
    tool_call_format = _pick(
        _Source(
            "--upstream-tool-call-format",
            "server.upstream_tool_call_format",
            "ORCHESTRATOR_UPSTREAM_TOOL_CALL_FORMAT",
        ),
        flags.upstream_tool_call_format,
        yaml.upstream_tool_call_format,
        env,
        "native",
        _text,
        _choice(TOOL_CALL_FORMATS),
    )
    if provider == "chat":
        if not upstream_url:
            raise SettingsError(
                "the model provider is 'chat' but no upstream is set: pass "
                "--upstream-base-url, add server.upstream_base_url to orchestrator.yaml, or "
                "set ORCHESTRATOR_UPSTREAM_BASE_URL."
            )
        server.upstream = UpstreamConfig(
            base_url=upstream_url,
            api_key=text("upstream_api_key"),
            model_map=model_map,
            timeout_seconds=number("upstream_timeout", float, 0.1, 120.0),
            max_retries=number("upstream_max_retries", int, 0, 3),
            max_tool_rounds=number("upstream_max_tool_rounds", int, 1, 8),
            tool_call_format=tool_call_format,
        )
    else:
        # Checked even when unused: a typo must not wait until the provider changes.
        for name, kind, minimum in (
            ("upstream_timeout", float, 0.1),
            ("upstream_max_retries", int, 0),
            ("upstream_max_tool_rounds", int, 1),
        ):
            number(name, kind, minimum, None)
    if not server.is_loopback() and not server.api_key:
        raise SettingsError(
            f"refusing to serve on {server.host} without an API key: pass --api-key (or set "
            "ORCHESTRATOR_API_KEY), or bind to 127.0.0.1."
        )
    return server


def _model_map(
    yaml: dict[str, str] | None, flag: tuple[str, ...] | None, env: Mapping[str, str]
) -> dict[str, str]:
    """Merged per name: env < orchestrator.yaml < flags."""
    merged = parse_model_map(
        (env.get("ORCHESTRATOR_MODEL_MAP") or "").split(), "ORCHESTRATOR_MODEL_MAP"
    )
    merged.update(yaml or {})
    merged.update(parse_model_map(flag or (), "--model-map"))
    return merged
