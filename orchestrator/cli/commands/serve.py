"""`orchestrator serve`: the embedded server in the foreground."""

from __future__ import annotations

import errno
import logging
import sys
from pathlib import Path

import click

from orchestrator.cli.arguments import GlobalOptions, project_dir_option, project_root
from orchestrator.cli.views.errors import fail
from orchestrator.server.request_log import REQUEST_LOGGER
from orchestrator.server.tools.code_interpreter import probe_isolation, refusal
from orchestrator.settings import Flags, SettingsError, resolve_settings
from orchestrator.targets.embedded import EmbeddedServer


@click.command()
@project_dir_option(
    "Project whose state and `server:` settings to serve (default: the nearest folder up "
    "with orchestrator.yaml, else the git root)."
)
@click.option("--host", default=None, help="Interface to bind.  [default: 127.0.0.1]")
@click.option("--port", default=None, type=int, help="Port (0: any free one).  [default: 8000]")
@click.option(
    "--db",
    "db_path",
    default=None,
    help="SQLite database file; ':memory:' keeps nothing.  "
    "[default: <project>/.orchestrator/server.sqlite3]",
)
@click.option(
    "--api-key",
    help="Bearer token clients must send. Required off loopback. Prefer the environment "
    "variable ORCHESTRATOR_API_KEY: a command line is visible to other local users (ps).",
)
@click.option(
    "--model-provider",
    type=click.Choice(["local", "chat"]),
    default=None,
    help="local: deterministic offline model; chat: forward to a /v1/chat/completions "
    "endpoint (orchestrator.yaml server.model_provider, env ORCHESTRATOR_MODEL_PROVIDER).  "
    "[default: local]",
)
@click.option(
    "--upstream-base-url",
    help="chat provider: upstream base URL (env ORCHESTRATOR_UPSTREAM_BASE_URL).",
)
@click.option(
    "--upstream-api-key",
    help="chat provider: upstream key (env ORCHESTRATOR_UPSTREAM_API_KEY; never logged).",
)
@click.option(
    "--model-map",
    "model_map",
    multiple=True,
    metavar="ASSISTANT_MODEL=UPSTREAM_MODEL",
    help="chat provider: map an assistant's model name to the upstream's (repeatable; "
    "'*=NAME' maps every other name; env ORCHESTRATOR_MODEL_MAP, space-separated).",
)
@click.option(
    "--upstream-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="chat provider: seconds to wait for the upstream to connect or send the next "
    "piece.  [default: 120]",
)
@click.option(
    "--upstream-max-retries",
    type=click.IntRange(min=0),
    default=None,
    help="chat provider: retries after a 429, 5xx, timeout or connection error.  [default: 3]",
)
@click.option(
    "--upstream-max-tool-rounds",
    type=click.IntRange(min=1),
    default=None,
    help="chat provider: rounds of tool calls a run may take before it fails.  [default: 8]",
)
@click.option(
    "--upstream-tool-call-format",
    type=click.Choice(["native", "json-in-text", "auto"]),
    default=None,
    help="chat provider: how the upstream's model writes tool calls: in tool_calls "
    "(native), as JSON in its text (json-in-text: tools described in the prompt, for "
    "models without tool calling), or either (auto).  [default: native]",
)
@click.option(
    "--run-expiry-seconds",
    type=click.IntRange(min=1),
    default=None,
    help="A run not finished this long after it was created expires (OpenAI: 10 minutes).  "
    "[default: 600]",
)
@click.option(
    "--max-concurrent-runs",
    type=click.IntRange(min=1),
    default=None,
    help="Runs executed at once; more wait queued.  [default: 16]",
)
@click.option(
    "--sandbox-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Code interpreter: seconds one execution may run before it is killed.  [default: 30]",
)
@click.option(
    "--sandbox-memory-mb",
    type=click.IntRange(min=32),
    default=None,
    help="Code interpreter: memory one execution may use.  [default: 512]",
)
@click.option(
    "--sandbox-disk-mb",
    type=click.IntRange(min=1),
    default=None,
    help="Code interpreter: megabytes a thread's working directory may hold, hidden files "
    "included.  [default: 512]",
)
@click.option(
    "--sandbox-max-concurrent",
    type=click.IntRange(min=1),
    default=None,
    help="Code interpreter: executions at once, server-wide; more wait.  [default: 4]",
)
@click.option(
    "--sandbox-isolation",
    type=click.Choice(["auto", "weak", "namespaces", "user-namespaces", "audit-hook"]),
    default=None,
    help="Code interpreter: auto = the strongest isolation this machine has, and no code "
    "interpreter if that is only the weak audit-hook mode (which exposes the server's files "
    "and keys to model code); weak = run code in that mode rather than not at all.  "
    "[default: auto]",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds a client has to send a request's headers (env ORCHESTRATOR_HEADER_TIMEOUT)."
    "  [default: 10]",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds a request body may stop arriving before it is refused with 408 "
    "(env ORCHESTRATOR_BODY_TIMEOUT).  [default: 60]",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=None,
    help="Open connections at once, lowered to what the open-file limit allows; more are "
    "answered 503 (env ORCHESTRATOR_MAX_CONNECTIONS).  [default: 1000]",
)
@click.option(
    "--max-body-mb",
    type=click.IntRange(min=1),
    default=None,
    help="Largest JSON request body (env ORCHESTRATOR_MAX_BODY_MB).  [default: 32]",
)
@click.option(
    "--max-upload-mb",
    type=click.IntRange(min=1),
    default=None,
    help="Largest file upload, as OpenAI's Files API (env ORCHESTRATOR_MAX_UPLOAD_MB).  "
    "[default: 512]",
)
@click.option(
    "-v",
    "--verbose",
    "verbose",
    count=True,
    help="Log each request: method, path, status and milliseconds (never headers or keys).",
)
@click.pass_obj
def serve(
    obj: GlobalOptions,
    project_dir: Path | None,
    model_map: tuple[str, ...],
    verbose: int,
    **options: object,
) -> None:
    """Run the embedded Assistants API v2 server in the foreground.

    Inside a project it serves the project's state (.orchestrator/) with its `server:`
    settings; flags win over orchestrator.yaml, which wins over ORCHESTRATOR_* variables.
    """
    verbose += obj.verbose
    root = project_root(project_dir)
    options["server_api_key"] = options.pop("api_key")
    try:
        settings = resolve_settings(root, Flags(model_map=model_map or None, **options))  # type: ignore[arg-type]
    except SettingsError as e:
        raise click.UsageError(str(e)) from None
    config = settings.server
    state = config.db_path or ":memory:"
    if config.db_path is not None:
        _check_state_path(config.db_path, explicit=options.get("db_path") is not None)
    try:
        server = EmbeddedServer(config, log_requests=verbose > 0)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            fail(
                f"could not serve on {config.host}:{config.port}: the port is in use (another "
                "server?); pick another with --port, or --port 0 for any free one"
            )
        fail(f"could not serve on {config.host}:{config.port} with state {state}: {e}")
    if verbose:
        # Propagates to the root handler (which redacts) whatever the root's level.
        logging.getLogger(REQUEST_LOGGER).setLevel(logging.INFO)
    isolation = probe_isolation(config.sandbox.isolation)
    sandbox = isolation.mode if isolation.allowed else "disabled"
    click.echo(
        f"Assistants API v2 server on {server.base_url} (state: {state}, model: "
        f"{config.model_provider}, code interpreter sandbox: {sandbox})"
    )
    if not config.api_key:
        click.echo("No --api-key: any key is accepted; serving loopback only.")
    if not isolation.allowed:
        click.echo(f"WARNING: {refusal(isolation)}.")
    elif not isolation.network_isolated:
        click.echo(f"WARNING: code interpreter sandbox {isolation.mode}: {isolation.detail}")
    sys.stdout.flush()
    server.start()
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _check_state_path(db: Path, *, explicit: bool) -> None:
    """A --db in a folder that does not exist is a typo, not a place to create: refuse
    (the default, .orchestrator/, is created)."""
    if db.is_dir():
        fail(f"--db {db} is a folder; give the database file's path, e.g. {db / 'server.sqlite3'}")
    if explicit and not db.parent.is_dir():
        fail(
            f"--db {db}: the folder {db.parent} does not exist; create it first, or pick "
            "another path (':memory:' keeps nothing)"
        )
