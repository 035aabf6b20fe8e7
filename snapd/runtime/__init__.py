"""The composition root: the one package that builds real objects from a policy.

``state`` opens the ledger, the per-VM locks and the leadership; ``root`` builds the
client, the budget, the engine, the fleet runner and ``once``'s notifier on top of them,
one client, budget and engine per account (``accounts``); ``daemon`` (imported by its
users only: it loads the scheduler) builds a whole daemon: its scheduler, observer and
``services`` (notifier, metrics, each account's budget), handed to ``snapd.daemon``.
"""

from snapd.runtime.accounts import AccountOptions
from snapd.runtime.root import (
    COMMAND_LINE_CONNECTION_RETRY_SECONDS,
    Readiness,
    Runtime,
    UsageError,
    budget_on,
    build_client,
    build_one_shot_notifier,
    check_readiness,
    open_runtime,
)
from snapd.runtime.state import (
    LEADERSHIP_RETRY_VARIABLE,
    build_leadership,
    open_ledger,
    operation_locks,
)

__all__ = [
    "COMMAND_LINE_CONNECTION_RETRY_SECONDS",
    "LEADERSHIP_RETRY_VARIABLE",
    "AccountOptions",
    "Readiness",
    "Runtime",
    "UsageError",
    "budget_on",
    "build_client",
    "build_leadership",
    "build_one_shot_notifier",
    "check_readiness",
    "open_ledger",
    "open_runtime",
    "operation_locks",
]
