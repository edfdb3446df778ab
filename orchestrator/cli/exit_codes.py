"""What the exit status of a command means (one table, so commands cannot drift).

=====  ==============================================================================
0      success; `plan --detailed-exitcode` / `diff`: no changes; `test`: all passed
1      an error (bad YAML or setting, unreachable server, a refused or failed apply; `plan`
       / `diff` with items that cannot be applied, e.g. an assistant to adopt without
       --adopt); `test`: a scenario failed
2      `plan --detailed-exitcode` / `diff`: changes present; `test`: an error (a
       scenario that cannot run)
64     a usage error: an unknown command or flag, a bad flag value, a missing argument
       (EX_USAGE of sysexits.h; click's own 2 would read as "changes present"); `serve`:
       a bad setting
130    interrupted (Ctrl-C)
=====  ==============================================================================
"""

OK = 0
ERROR = 1
CHANGES = 2
USAGE = 64
TEST_FAILED = 1
TEST_ERROR = 2
INTERRUPTED = 130
