"""The `orchestrator` command as users run it: a real process, without the caller's
OPENAI_*/ORCHESTRATOR_* variables (so the embedded target and defaults apply)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def run_cli(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ORCHESTRATOR_"))}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def interruptible() -> None:
    """``preexec_fn`` for a child the test will Ctrl-C: SIGINT back to its default.

    A job started in the background by a non-interactive shell (as CI may start the test
    run) has SIGINT ignored, children inherit that, and Python then never raises
    KeyboardInterrupt; a terminal's Ctrl-C always reaches the foreground command.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def invoke_cli(cwd: Path, *args: str) -> InProcessResult:
    """The CLI in this process (click's runner), for what needs no real process: usage
    errors, help, argument checks. Same environment rules as :func:`run_cli`."""
    from click.testing import CliRunner

    from orchestrator.cli import cli

    unset = {k: None for k in os.environ if k.startswith(("OPENAI_", "ORCHESTRATOR_"))}
    with contextlib.chdir(cwd):
        r = CliRunner(env=unset).invoke(cli, list(args))
    return InProcessResult(r.exit_code, r.stdout, r.stderr, r.exception)


@dataclass(frozen=True)
class InProcessResult:
    returncode: int
    stdout: str
    stderr: str
    # What escaped the command, if anything; SystemExit is click's normal way out.
    exception: BaseException | None
