"""One operation in flight per VM across hosts: the per-VM lock as a PostgreSQL
session-level advisory lock, for a shared ledger.

With ``backend: postgresql`` the daemon on one host and ``snapd once`` or ``snapd restore``
on another (or on an operator's laptop) must exclude each other as processes on one host
do with the lock files of :class:`~snapd.ledger.locks.VirtualMachineLocks`. Each
:meth:`~AdvisoryVirtualMachineLocks.hold` opens its own connection, takes
``pg_try_advisory_lock`` and closes the connection at the end of the block; the server
frees the lock when a holder dies, as the kernel frees an ``flock``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg

from snapd.ledger.advisory import (
    VIRTUAL_MACHINE_NAMESPACE,
    ConnectionSettings,
    process_identity,
    virtual_machine_key,
)
from snapd.ledger.locks import VirtualMachineBusyError, VirtualMachineLocks
from snapd.ledger.postgres import connect
from snapd.ledger.records import LedgerError, OperationKind

STATEMENT_TIMEOUT_SECONDS = 10.0

_HOLDER = """
SELECT activity.application_name FROM pg_locks AS locks
JOIN pg_stat_activity AS activity ON activity.pid = locks.pid
WHERE locks.locktype = 'advisory' AND locks.granted AND locks.classid::bigint = %s
AND locks.objid::bigint = %s AND locks.objsubid = 2 LIMIT 1
"""


class AdvisoryVirtualMachineLocks(VirtualMachineLocks):
    """Per-VM exclusive locks in the shared ledger's database; same contract as the files.

    A database that cannot be reached raises ``OSError`` from :meth:`hold`, as an
    unopenable lock file does: the operation does not run.
    """

    def __init__(self, settings: ConnectionSettings) -> None:  # no lock folder
        self._settings = settings

    @contextmanager
    def hold(
        self, virtual_machine_id: int, purpose: OperationKind, now: datetime
    ) -> Iterator[None]:
        since = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = f"snapd {process_identity()} {purpose} {since}"[:63]
        settings = ConnectionSettings(self._settings.dsn, self._settings.password, name)
        key = (VIRTUAL_MACHINE_NAMESPACE, virtual_machine_key(virtual_machine_id))
        try:
            connection = connect(settings, STATEMENT_TIMEOUT_SECONDS)
        except LedgerError as error:
            raise OSError(str(error)) from None
        try:
            row = connection.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()
            if row is None or not row[0]:
                holder = connection.execute(_HOLDER, key).fetchone()
                raise _busy(virtual_machine_id, None if holder is None else str(holder[0]))
            yield
        except psycopg.Error as error:
            raise OSError(f"virtual machine {virtual_machine_id}'s lock: {error}") from None
        finally:
            connection.close()  # ends the session, and with it the lock


def _busy(virtual_machine_id: int, holder: str | None) -> VirtualMachineBusyError:
    """The refusal, naming the holder from its ``application_name`` (host:pid purpose since)."""
    parts = (holder or "").split()
    if len(parts) < 4 or parts[0] != "snapd":
        return VirtualMachineBusyError(virtual_machine_id)
    host, _, pid = parts[1].rpartition(":")
    return VirtualMachineBusyError(
        virtual_machine_id,
        pid=int(pid) if pid.isdigit() else None,
        purpose=f"{' '.join(parts[2:-1])} on {host}",
        since=parts[-1],
    )
