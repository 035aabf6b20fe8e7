"""Building the shared (PostgreSQL) backend from the policy's ``ledger:`` settings.

The modules that need psycopg are imported here, lazily, and only for
``backend: postgresql``: snapd without the ``postgresql`` extra runs on SQLite as ever.
``snapd.runtime`` decides which backend to use; every failure here is a one-line
:class:`~snapd.ledger.records.LedgerError` for the operator.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snapd.config.credentials import CredentialError
from snapd.config.ledger import LedgerSettings, load_ledger_password
from snapd.ledger.advisory import ConnectionSettings, process_identity
from snapd.ledger.locks import VirtualMachineLocks
from snapd.ledger.protocol import Ledger
from snapd.ledger.records import LedgerError

if TYPE_CHECKING:
    from snapd.ledger.fencing import Fence
    from snapd.ledger.leadership import Leadership

#: Sessions a daemon holds besides the VM locks' pool: the ledger's, the leadership's and
#: the VM locks' liveness session.
OWN_SESSIONS = 3
#: A lock statement that takes longer is cancelled (the slot fails closed, recorded).
LOCK_STATEMENT_TIMEOUT_SECONDS = 10.0
#: How long a slot waits for a free session of the pool before it fails closed.
LOCK_SESSION_WAIT_SECONDS = 30.0

MISSING_DRIVER = (
    "ledger.backend: postgresql needs psycopg; "
    "install it with: pip install 'hostinger-snapd[postgresql]'"
)


def connection_settings(settings: LedgerSettings, application_name: str) -> ConnectionSettings:
    """How to reach the shared ledger, its password looked up (never in a message)."""
    assert settings.dsn is not None  # the policy refuses postgresql without one
    try:
        password = load_ledger_password(settings)
    except CredentialError as error:
        raise LedgerError(str(error)) from None
    return ConnectionSettings(settings.dsn, password, application_name)


def open_shared_ledger(settings: LedgerSettings, fence: Fence | None) -> Ledger:
    """Connect to the shared ledger and migrate it; ``fence`` guards its pending rows."""
    module = _import("snapd.ledger.postgres")
    ledger: Ledger = module.PostgresLedger.open(connection_settings(settings, "snapd"), fence)
    return ledger


def shared_ledger_problem(settings: LedgerSettings) -> str | None:
    """Why ``run`` could not reach the shared ledger (no driver, no password, a refused
    connection, a refused password), or None: one connection is made and closed again,
    nothing is created or migrated. For ``config validate``."""
    try:
        module = _import("snapd.ledger.postgres")
        connection = module.connect(
            connection_settings(settings, "snapd-validate"), LOCK_STATEMENT_TIMEOUT_SECONDS
        )
    except LedgerError as error:
        return str(error)
    connection.close()
    return None


def shared_operation_locks(settings: LedgerSettings) -> VirtualMachineLocks:
    """Per-VM operation locks as leased rows of the shared ledger: a liveness session and
    a pool of the sessions ``max_connections`` leaves beside the ledger's and the
    leadership's."""
    sessions = _import("snapd.ledger.sessions")
    liveness = _import("snapd.ledger.liveness")
    module = _import("snapd.ledger.lease_locks")
    connection = connection_settings(settings, f"snapd locks {process_identity()}"[:63])
    pool = sessions.SessionPool(
        connection,
        max(1, settings.max_connections - OWN_SESSIONS),
        statement_timeout_seconds=LOCK_STATEMENT_TIMEOUT_SECONDS,
        wait_seconds=LOCK_SESSION_WAIT_SECONDS,
    )
    alive = liveness.ProcessLiveness(connection, LOCK_STATEMENT_TIMEOUT_SECONDS)
    locks: VirtualMachineLocks = module.LeasedVirtualMachineLocks(
        pool, alive, settings.lock_lease.total_seconds()
    )
    return locks


def fence_pending_rows(ledger: Ledger, locks: VirtualMachineLocks) -> None:
    """Make the shared ledger check every pending row it writes against ``locks``."""
    postgres = _import("snapd.ledger.postgres")
    lease_locks = _import("snapd.ledger.lease_locks")
    if isinstance(ledger, postgres.PostgresLedger) and isinstance(
        locks, lease_locks.LeasedVirtualMachineLocks
    ):
        ledger.fence_with(locks)


def fleet_leadership(
    settings: LedgerSettings,
    retry_seconds: float | None,
    on_change: Callable[[bool], None],
    on_error: Callable[[], None],
) -> Leadership:
    """The fleet's leadership for this replica, not started. ``retry_seconds`` (None: the
    default) is how often a standby tries for the lock; the leader checks its session
    at least as often."""
    module = _import("snapd.ledger.leadership")
    retry = module.RETRY_SECONDS if retry_seconds is None else max(0.1, retry_seconds)
    leadership: Leadership = module.Leadership(
        # pg_stat_activity then says which host leads: "snapd leadership web-1:4711".
        connection_settings(settings, f"snapd leadership {process_identity()}"[:63]),
        settings.fleet,
        retry_seconds=retry,
        check_seconds=min(module.CHECK_SECONDS, retry),
        on_change=on_change,
        on_error=on_error,
    )
    return leadership


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if error.name is None or not error.name.startswith("psycopg"):
            raise
        raise LedgerError(MISSING_DRIVER) from None
