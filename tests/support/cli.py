"""The `orchestrator` command as users run it: a real process, without the caller's
OPENAI_*/ORCHESTRATOR_* variables (so the embedded target and defaults apply)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
