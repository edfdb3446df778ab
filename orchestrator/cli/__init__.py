"""The ``orchestrator`` command line: parse options, call the library, render.

- :mod:`.main` — the group and its global options; the console script's ``main``.
- :mod:`.commands` — one module per command.
- :mod:`.arguments` — options several commands share.
- :mod:`.session` — load the project, resolve the settings, connect to the target.
- :mod:`.views` — everything printed.
- :mod:`.exit_codes` — what each exit status means.

Only this package imports ``click`` or exits the process.
"""

from __future__ import annotations

from orchestrator.cli.main import cli, main

__all__ = ["cli", "main"]
