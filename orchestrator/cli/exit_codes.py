"""What the exit status of a command means: one table (:data:`EXIT_CODES`), so commands
cannot drift and the docs and ``orchestrator --help`` render the same rows.

A usage error exits 64 (EX_USAGE of sysexits.h), never click's own 2, which would read as
"changes present" to `plan --detailed-exitcode` and `diff`.
"""

from __future__ import annotations

OK = 0
ERROR = 1
CHANGES = 2
USAGE = 64
TEST_FAILED = 1
TEST_ERROR = 2
INTERRUPTED = 130

# (code, meaning), in the order users look them up.
EXIT_CODES: list[tuple[int, str]] = [
    (OK, "success; `plan --detailed-exitcode` and `diff`: no changes; `test`: all passed"),
    (
        ERROR,
        "an error (bad YAML or setting, unreachable server, a refused or failed apply; `plan` "
        "and `diff` with items that cannot be applied, e.g. an assistant to adopt without "
        "--adopt); `test`: a scenario failed",
    ),
    (
        CHANGES,
        "`plan --detailed-exitcode` and `diff`: changes present; `test`: an error (a scenario "
        "that cannot run, assistants on a URL target that differ from the YAML, an "
        "unreachable server or model endpoint)",
    ),
    (
        USAGE,
        "a usage error: an unknown command or flag, a bad flag value, a missing argument; "
        "`serve`: a bad setting",
    ),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
]
