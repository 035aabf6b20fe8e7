"""The composition root: the one package that builds real objects from a policy.

``state`` opens the ledger, the per-VM locks and the leadership; ``root`` builds the
client, the engine, the fleet runner and the daemon's services on top of them.
"""

from snapd.runtime.accounts import AccountOptions
from snapd.runtime.root import (
    COMMAND_LINE_CONNECTION_RETRY_SECONDS,
    Readiness,
    Runtime,
    UsageError,
    budget_on,
    build_client,
    check_readiness,
    open_runtime,
)
from snapd.runtime.services import Services, build_services
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
    "Services",
    "UsageError",
    "budget_on",
    "build_client",
    "build_leadership",
    "build_services",
    "check_readiness",
    "open_ledger",
    "open_runtime",
    "operation_locks",
]
