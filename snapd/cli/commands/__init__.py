"""What each ``snapd`` subcommand does, one module per group; ``snapd.cli`` only parses."""

from __future__ import annotations

from enum import IntEnum

from snapd.errors import UsageError

__all__ = ["ExitCode", "UsageError"]


class ExitCode(IntEnum):
    """Exit codes shared by every command."""

    OK = 0
    FAILURE = 1  # a runtime failure: the API refused, a snapshot failed
    USAGE = 2  # bad arguments or a policy/token/state problem the operator must fix
    SKIPPED = 3  # `once`: a guard skipped at least one VM and none failed
    INTERRUPTED = 130  # `once`: Ctrl-C; waits stay pending in the ledger for the next run
