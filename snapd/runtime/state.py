"""The composition root's state: the ledger, the per-VM locks and the fleet's leadership.

Every failure here is the operator's to fix (a missing state directory, an unreachable
shared ledger) and becomes a ``UsageError``: one line, exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from snapd.config import Config
from snapd.errors import UsageError
from snapd.ledger import Ledger, LedgerError, SqliteLedger, backends
from snapd.ledger.connection import can_write
from snapd.ledger.locks import VirtualMachineLocks

if TYPE_CHECKING:
    from snapd.ledger.fencing import Fence
    from snapd.ledger.leadership import Leadership

LEADERSHIP_RETRY_VARIABLE = "SNAPD_LEADERSHIP_RETRY_SECONDS"


def open_ledger(
    config: Config, *, read_only_if_needed: bool = False, fence: Fence | None = None
) -> Ledger:
    """Open the policy's ledger: SQLite under ``state_dir`` or the shared PostgreSQL;
    raise ``UsageError``.

    ``read_only_if_needed`` (``status``, ``history``): when this process cannot write
    under ``state_dir``, open the existing SQLite ledger read-only and create nothing.
    ``fence`` (the daemon's leadership) guards a shared ledger's pending rows.
    """
    try:
        if config.ledger.shared:
            return backends.open_shared_ledger(config.ledger, fence)
        if read_only_if_needed and not can_write(config.state_dir):
            return SqliteLedger.open_read_only(config.state_dir)
        return SqliteLedger.open(config.state_dir)
    except LedgerError as error:
        raise UsageError(str(error)) from None


def operation_locks(config: Config) -> VirtualMachineLocks:
    """The per-VM operation locks: files in ``state_dir``, or leased rows in the shared
    ledger's database (so that hosts exclude each other too); raise ``UsageError``."""
    try:
        if config.ledger.shared:
            return backends.shared_operation_locks(config.ledger)
    except LedgerError as error:
        raise UsageError(str(error)) from None
    return VirtualMachineLocks(config.state_dir)


def build_leadership(
    config: Config, on_change: Callable[[bool], None], on_error: Callable[[], None]
) -> Leadership | None:
    """The daemon's claim on its fleet's leadership, not started; None for SQLite (a
    single instance always leads); raise ``UsageError``. ``$SNAPD_LEADERSHIP_RETRY_SECONDS``
    changes the standby's retry interval (default 2 s; tests use less)."""
    if not config.ledger.shared:
        return None
    retry = os.environ.get(LEADERSHIP_RETRY_VARIABLE, "")
    try:
        seconds = float(retry) if retry else None
        return backends.fleet_leadership(config.ledger, seconds, on_change, on_error)
    except ValueError:
        raise UsageError(f"{LEADERSHIP_RETRY_VARIABLE}: expected seconds, got {retry!r}") from None
    except LedgerError as error:
        raise UsageError(str(error)) from None
