"""The settings resolver: flags > orchestrator.yaml > environment > defaults, for every
setting, and a clear error (naming where the value came from) for every bad value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.settings import Flags, Settings, SettingsError, resolve_settings

CHAT = {"ORCHESTRATOR_MODEL_PROVIDER": "chat", "ORCHESTRATOR_UPSTREAM_BASE_URL": "http://up/v1"}
URL_TARGET = {"OPENAI_BASE_URL": "http://base/v1"}


@dataclass
class Row:
    """One setting: its value in each layer (None: the layer cannot set it) and its default."""

    name: str
    get: Callable[[Settings], Any]
    default: Any
    env: tuple[dict[str, str], Any] | None = None
    yaml: tuple[dict[str, Any], Any] | None = None
    flag: tuple[dict[str, Any], Any] | None = None
    # Needed for the setting to exist at all (e.g. a URL target for its key).
    base_env: dict[str, str] = field(default_factory=dict)


def server(name: str, env_value: str, yaml_value: Any, flag_value: Any, expected: tuple) -> Row:
    """A `server:` setting spelled the same in all three layers."""
    getters: dict[str, Callable[[Settings], Any]] = {
        "upstream_timeout": lambda s: s.server.upstream.timeout_seconds,
        "upstream_max_retries": lambda s: s.server.upstream.max_retries,
        "upstream_max_tool_rounds": lambda s: s.server.upstream.max_tool_rounds,
        "upstream_tool_call_format": lambda s: s.server.upstream.tool_call_format,
        "upstream_api_key": lambda s: s.server.upstream.api_key,
        "upstream_base_url": lambda s: s.server.upstream.base_url,
        "run_expiry_seconds": lambda s: s.server.run_expiry_seconds,
        "max_concurrent_runs": lambda s: s.server.max_concurrent_runs,
        "sandbox_timeout": lambda s: s.server.sandbox.timeout_seconds,
        "sandbox_memory_mb": lambda s: s.server.sandbox.memory_mb,
    }
    env_exp, yaml_exp, flag_exp, default = expected
    return Row(
        name,
        getters[name],
        default,
        env=({f"ORCHESTRATOR_{name.upper()}": env_value}, env_exp),
        yaml=({"server": {name: yaml_value}}, yaml_exp),
        flag=({name: flag_value}, flag_exp),
        base_env=dict(CHAT) if name.startswith("upstream_") else {},
    )


ROWS = [
    Row(
        "namespace",
        lambda s: s.namespace,
        "default",
        env=({"ORCHESTRATOR_NAMESPACE": "from-env"}, "from-env"),
        yaml=({"namespace": "from-yaml"}, "from-yaml"),
        flag=({"namespace": "from-flag"}, "from-flag"),
    ),
    Row(
        "target base_url",
        lambda s: (s.target.kind, s.target.base_url),
        ("embedded", None),
        env=({"OPENAI_BASE_URL": "http://env/v1/"}, ("url", "http://env/v1")),
        yaml=({"target": {"base_url": "http://yaml/v1"}}, ("url", "http://yaml/v1")),
        flag=({"base_url": "http://flag/v1"}, ("url", "http://flag/v1")),
    ),
    Row(
        "target api_key",
        lambda s: s.target.api_key,
        None,
        env=({"OPENAI_API_KEY": "k-env"}, "k-env"),
        yaml=({"target": {"api_key": "k-yaml"}}, "k-yaml"),
        flag=({"api_key": "k-flag"}, "k-flag"),
        base_env=URL_TARGET,
    ),
    Row(
        "target api",
        lambda s: s.target.api,
        "assistants",
        yaml=({"target": {"api": "openai", "base_url": "embedded"}}, "openai"),
        flag=({"api": "assistants"}, "assistants"),
    ),
    Row("serve host", lambda s: s.server.host, "127.0.0.1", flag=({"host": "127.0.0.2"}, "127.0.0.2")),
    Row("serve port", lambda s: s.server.port, 8000, flag=({"port": 0}, 0)),
    Row(
        "serve db",
        lambda s: s.server.db_path and s.server.db_path.relative_to(s.root).as_posix(),
        ".orchestrator/server.sqlite3",
        flag=({"db_path": ":memory:"}, None),
    ),
    Row(
        "serve api_key",
        lambda s: s.server.api_key,
        None,
        env=({"ORCHESTRATOR_API_KEY": "s-env"}, "s-env"),
        flag=({"server_api_key": "s-flag"}, "s-flag"),
    ),
    Row(
        "model_provider",
        lambda s: s.server.model_provider,
        "local",
        env=({"ORCHESTRATOR_MODEL_PROVIDER": "chat"}, "chat"),
        yaml=({"server": {"model_provider": "local"}}, "local"),
        flag=({"model_provider": "chat"}, "chat"),
        base_env={"ORCHESTRATOR_UPSTREAM_BASE_URL": "http://up/v1"},
    ),
    Row(
        "model_map",
        lambda s: s.server.upstream.model_map,
        {},
        env=({"ORCHESTRATOR_MODEL_MAP": "gpt-4o=e *=e"}, {"gpt-4o": "e", "*": "e"}),
        yaml=({"server": {"model_map": {"gpt-4o": "y"}}}, {"gpt-4o": "y", "*": "e"}),
        flag=({"model_map": ("*=f",)}, {"gpt-4o": "y", "*": "f"}),
        base_env=CHAT,
    ),
    server("upstream_base_url", "http://e/v1", "http://y/v1", "http://f/v1",
           ("http://e/v1", "http://y/v1", "http://f/v1", "http://up/v1")),
    server("upstream_api_key", "u-env", "u-yaml", "u-flag", ("u-env", "u-yaml", "u-flag", None)),
    server("upstream_timeout", "1.5", 2.5, 3.5, (1.5, 2.5, 3.5, 120.0)),
    server("upstream_max_retries", "0", 1, 2, (0, 1, 2, 3)),
    server("upstream_max_tool_rounds", "2", 4, 6, (2, 4, 6, 8)),
    server(
        "upstream_tool_call_format",
        "auto",
        "json-in-text",
        "native",
        ("auto", "json-in-text", "native", "native"),
    ),
    server("run_expiry_seconds", "10", 20, 30, (10, 20, 30, 600)),
    server("max_concurrent_runs", "2", 3, 4, (2, 3, 4, 16)),
    server("sandbox_timeout", "1", 2, 3.5, (1.0, 2.0, 3.5, 30.0)),
    server("sandbox_memory_mb", "64", 128, 256, (64, 128, 256, 512)),
    Row(
        "sandbox_isolation",
        lambda s: s.server.sandbox.isolation,
        "auto",
        env=({"ORCHESTRATOR_SANDBOX_ISOLATION": "weak"}, "weak"),
        flag=({"sandbox_isolation": "namespaces"}, "namespaces"),
    ),
    Row(
        "sandbox_disk_mb",
        lambda s: s.server.sandbox.disk_mb,
        512,
        env=({"ORCHESTRATOR_SANDBOX_DISK_MB": "100"}, 100),
        flag=({"sandbox_disk_mb": 200}, 200),
    ),
    Row(
        "container_minute_seconds",
        lambda s: s.server.container_minute_seconds,
        60.0,
        env=({"ORCHESTRATOR_CONTAINER_MINUTE_SECONDS": "1"}, 1.0),
        flag=({"container_minute_seconds": 0.5}, 0.5),
    ),
    Row(
        "context_window_tokens",
        lambda s: s.server.context_window_tokens,
        128_000,
        env=({"ORCHESTRATOR_CONTEXT_WINDOW_TOKENS": "4096"}, 4096),
        flag=({"context_window_tokens": 8192}, 8192),
    ),
    Row(
        "sandbox_max_concurrent",
        lambda s: s.server.sandbox.max_concurrent,
        4,
        env=({"ORCHESTRATOR_SANDBOX_MAX_CONCURRENT": "2"}, 2),
        flag=({"sandbox_max_concurrent": 8}, 8),
    ),
    Row(
        "header_timeout",
        lambda s: s.server.http.header_timeout_seconds,
        10.0,
        env=({"ORCHESTRATOR_HEADER_TIMEOUT": "2.5"}, 2.5),
        flag=({"header_timeout": 4.0}, 4.0),
    ),
    Row(
        "body_timeout",
        lambda s: s.server.http.body_timeout_seconds,
        60.0,
        env=({"ORCHESTRATOR_BODY_TIMEOUT": "30"}, 30.0),
        flag=({"body_timeout": 90.0}, 90.0),
    ),
    Row(
        "max_connections",
        lambda s: s.server.http.max_connections,
        1000,
        env=({"ORCHESTRATOR_MAX_CONNECTIONS": "200"}, 200),
        flag=({"max_connections": 300}, 300),
    ),
    Row(
        "max_body_mb",
        lambda s: s.server.http.max_body_mb,
        32,
        env=({"ORCHESTRATOR_MAX_BODY_MB": "8"}, 8),
        flag=({"max_body_mb": 16}, 16),
    ),
    Row(
        "max_upload_mb",
        lambda s: s.server.http.max_upload_mb,
        512,
        env=({"ORCHESTRATOR_MAX_UPLOAD_MB": "64"}, 64),
        flag=({"max_upload_mb": 128}, 128),
    ),
]  # fmt: skip


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def resolve(
    root: Path, env: dict[str, str], doc: dict[str, Any], flags: dict[str, Any]
) -> Settings:
    (root / "orchestrator.yaml").write_text(
        yaml.safe_dump({"kind": "Project", **doc}), encoding="utf-8"
    )
    return resolve_settings(root, Flags(**flags), environ=env)


# Each step adds the next-higher layer; the value must follow the highest one present.
LAYERS = ["default", "env", "yaml", "flag"]


@pytest.mark.parametrize("upto", LAYERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_the_highest_layer_that_sets_a_setting_wins(row: Row, upto: str, tmp_path: Path) -> None:
    env, doc, flags = dict(row.base_env), {}, {}
    expected = row.default
    for layer in LAYERS[1 : LAYERS.index(upto) + 1]:
        given = getattr(row, layer)
        if given is None:
            continue
        value, expected = given
        if layer == "env":
            env.update(value)
        elif layer == "yaml":
            doc = merge(doc, value)
        else:
            flags.update(value)
    assert row.get(resolve(tmp_path, env, doc, flags)) == expected


def test_every_flag_of_the_resolver_has_a_row() -> None:
    # A setting added to Flags without a precedence row here fails this test.
    from dataclasses import fields

    covered = {k for r in ROWS if r.flag for k in r.flag[0]}
    assert {f.name for f in fields(Flags)} == covered


# --- bad values: one clear error naming their source -----------------------------------


@pytest.mark.parametrize(
    ("env", "doc", "flags", "message"),
    [
        # Once silently dropped on the embedded target (and an error only in `serve`).
        ({"ORCHESTRATOR_MODEL_MAP": "gpt-4o"}, {}, {}, "ORCHESTRATOR_MODEL_MAP: expected"),
        ({**CHAT, "ORCHESTRATOR_MODEL_MAP": "a=b =c"}, {}, {}, "got '=c'"),
        ({}, {}, {"model_map": ("x",)}, "--model-map: expected"),
        ({**CHAT, "ORCHESTRATOR_UPSTREAM_TIMEOUT": "soon"}, {}, {}, "ORCHESTRATOR_UPSTREAM_TIMEOUT"),
        ({"ORCHESTRATOR_UPSTREAM_MAX_RETRIES": "-1"}, {}, {}, "ORCHESTRATOR_UPSTREAM_MAX_RETRIES"),
        ({"ORCHESTRATOR_UPSTREAM_MAX_TOOL_ROUNDS": "1.5"}, {}, {}, "a whole number"),
        ({"ORCHESTRATOR_SANDBOX_MEMORY_MB": "8"}, {}, {}, "ORCHESTRATOR_SANDBOX_MEMORY_MB: expected"),
        ({"ORCHESTRATOR_MODEL_PROVIDER": "gpt"}, {}, {}, "ORCHESTRATOR_MODEL_PROVIDER: 'gpt' is not"),
        ({"ORCHESTRATOR_SANDBOX_ISOLATION": "chroot"}, {}, {}, "ORCHESTRATOR_SANDBOX_ISOLATION: 'chroot' is not"),
        ({"ORCHESTRATOR_SANDBOX_DISK_MB": "0"}, {}, {}, "ORCHESTRATOR_SANDBOX_DISK_MB: expected a whole number >= 1"),
        ({"ORCHESTRATOR_MODEL_PROVIDER": "chat"}, {}, {}, "no upstream is set"),
        ({}, {"server": {"model_provider": "chat"}}, {}, "server.upstream_base_url"),
        ({}, {}, {"host": "0.0.0.0"}, "without an API key"),
        ({}, {}, {"api": "responses"}, "'responses' is not one of 'assistants', 'openai'"),
        # OpenAI retired the Assistants API: its host is refused for api: assistants.
        ({"OPENAI_BASE_URL": "https://api.openai.com/v1"}, {}, {}, "set `target: {api: openai}`"),
        ({}, {}, {"base_url": "https://eu.api.openai.com/v1"}, "404 since 2026-08-26"),
        ({}, {}, {"host": "127.0.0.1.nip.io"}, "refusing to serve on 127.0.0.1.nip.io"),
        ({}, {}, {"host": "127.evil.example"}, "without an API key"),
        # orchestrator.yaml's own problems come from its schema, with file and line.
        ({}, {"target": {"api": "responses"}}, {}, "orchestrator.yaml:"),
        ({}, {"server": {"upstream_timeout": 0}}, {}, "orchestrator.yaml:"),
    ],
)  # fmt: skip
def test_a_bad_value_is_an_error_that_names_its_source(
    env: dict[str, str], doc: dict[str, Any], flags: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve(tmp_path, env, doc, flags)
    assert message in str(caught.value)


def test_keys_never_show_in_the_settings_repr(tmp_path: Path) -> None:
    env = {**CHAT, "ORCHESTRATOR_UPSTREAM_API_KEY": "sk-up-secret", "OPENAI_API_KEY": "sk-t"}
    settings = resolve(tmp_path, {**env, **URL_TARGET}, {}, {"server_api_key": "sk-serve"})
    assert settings.server.upstream.api_key == "sk-up-secret"
    shown = repr(settings)
    assert "sk-" not in shown, shown


def test_a_project_config_already_loaded_is_resolved_without_reading_the_file_again(
    tmp_path: Path,
) -> None:
    from orchestrator.project import load_project

    (tmp_path / "orchestrator.yaml").write_text("namespace: team\n", encoding="utf-8")
    project = load_project(tmp_path)
    (tmp_path / "orchestrator.yaml").write_text("namespace: changed\n", encoding="utf-8")
    settings = resolve_settings(project.config, environ={})
    assert settings.namespace == "team"
    assert settings.target.state_dir == tmp_path.resolve() / ".orchestrator"


def test_every_server_setting_of_the_schema_reaches_the_resolver() -> None:
    # orchestrator.yaml's `server:` keys, the loader's fields and the resolver's flags agree.
    from dataclasses import fields

    from orchestrator.project import load_schema
    from orchestrator.project.specs import ServerSettings

    in_schema = set(load_schema("Project")["properties"]["server"]["properties"])
    loaded = {f.name for f in fields(ServerSettings)}
    flags = {f.name for f in fields(Flags)}
    assert in_schema == loaded
    assert loaded <= flags


# --- api: openai ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "doc", "flags", "expected"),
    [
        # OpenAI's own host by default, with OPENAI_API_KEY.
        ({"OPENAI_API_KEY": "sk-o"}, {"target": {"api": "openai"}}, {}, ("url", "https://api.openai.com/v1", "sk-o")),
        ({}, {}, {"api": "openai"}, ("url", "https://api.openai.com/v1", None)),
        # Any URL that speaks those APIs.
        ({"OPENAI_BASE_URL": "http://h/v1"}, {"target": {"api": "openai"}}, {}, ("url", "http://h/v1", None)),
        # The embedded server, by name (either API).
        ({}, {"target": {"api": "openai", "base_url": "embedded"}}, {}, ("embedded", None, None)),
        ({}, {"target": "embedded"}, {"api": "openai"}, ("embedded", None, None)),
        ({"OPENAI_BASE_URL": "http://h/v1"}, {}, {"api": "openai", "base_url": "embedded"}, ("embedded", None, None)),
        # The Assistants target keeps its embedded default.
        ({}, {}, {}, ("embedded", None, None)),
    ],
)  # fmt: skip
def test_the_openai_api_targets_openai_by_default(
    env: dict[str, str], doc: dict[str, Any], flags: dict[str, Any], expected: tuple, tmp_path: Path
) -> None:
    t = resolve(tmp_path, env, doc, flags).target
    assert (t.kind, t.base_url, t.api_key) == expected


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("127.0.0.1.nip.io", False),
        ("localhost.example", False),
        ("0.0.0.0", False),
        ("::", False),
    ],
)
def test_only_loopback_literals_serve_without_a_key(
    host: str, loopback: bool, tmp_path: Path
) -> None:
    if loopback:
        assert resolve(tmp_path, {}, {}, {"host": host}).server.host == host
    else:
        with pytest.raises(SettingsError, match="without an API key"):
            resolve(tmp_path, {}, {}, {"host": host})
