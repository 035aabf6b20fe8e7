"""Whether a process holding per-VM leases still runs: one session per process that holds
an advisory lock on a key of its own.

A lease alone would keep a VM locked for up to its whole length after its holder died (a
``kill -9``, a crashed host): a new leader could not resume the VM's pending action for
that long. So every lock row also names its holder's **liveness key**, and a lock whose
holder's key is no longer locked in ``pg_locks`` (the session ended: the process died,
or the server or the network dropped it) may be taken at once, as a session-level
advisory lock would be. That costs one session per process, not one per VM.

A holder whose liveness session ended may still run; its leases can then be taken, which
the fencing token makes safe: its next pending-row write fails (``LockLostError``).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import psycopg

from snapd.clock import Clock, SystemClock
from snapd.ledger.advisory import LIVENESS_NAMESPACE, ConnectionSettings
from snapd.ledger.postgres import IDLE_CHECK_SECONDS, connect, one_line
from snapd.ledger.records import LedgerError

#: A lock row's holder is alive while this finds its liveness key locked.
HOLDER_ALIVE = f"""
SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
AND classid::bigint = {LIVENESS_NAMESPACE} AND objid::bigint = held.holder_key
"""
_TAKE_KEY = """
SELECT pg_try_advisory_lock(%s, fresh.key), fresh.key
FROM (SELECT (nextval('virtual_machine_lock_tokens') %% 2147483647)::int AS key) AS fresh
"""
_ATTEMPTS = 3


class ProcessLiveness:
    """This process's liveness session and key; thread-safe; close at the end."""

    def __init__(
        self,
        settings: ConnectionSettings,
        statement_timeout_seconds: float,
        *,
        clock: Clock | None = None,
    ) -> None:
        """``clock`` (default: the system's) times how long the session was not heard of."""
        self._settings = settings
        self._clock = clock or SystemClock()
        self._statement_timeout = statement_timeout_seconds
        self._guard = threading.Lock()
        self._connection: psycopg.Connection[Any] | None = None
        self._key: int | None = None
        self._heard = 0.0  # monotonic seconds when the session last answered

    def key(self, *, check: bool = False) -> int:
        """The liveness key, (re)opening the session when it is gone. The session is asked
        to answer first when ``check`` is set or it was last heard of over a second ago
        (the server may have ended it: a restart, ``idle_session_timeout``); a key whose
        session ended would let anyone take this process's locks. Raise ``LedgerError``
        when it cannot be had."""
        with self._guard:
            connection = self._connection
            stale = check or self._clock.monotonic() - self._heard > IDLE_CHECK_SECONDS
            if connection is not None and stale and not connection.closed:
                try:
                    connection.execute("SELECT 1")
                    self._heard = self._clock.monotonic()
                except psycopg.Error:
                    connection.close()
            if connection is None or connection.closed or connection.broken:
                self._open()
            assert self._key is not None
            return self._key

    def close(self) -> None:
        """End the session (and with it the key). Idempotent."""
        with self._guard:
            connection, self._connection, self._key = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def _open(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
        self._connection, self._key = None, None
        connection = connect(self._settings, self._statement_timeout)
        try:
            for _ in range(_ATTEMPTS):  # a key still held by an older process: another
                row = connection.execute(_TAKE_KEY, (LIVENESS_NAMESPACE,)).fetchone()
                if row is not None and row[0]:
                    self._connection, self._key = connection, int(row[1])
                    self._heard = self._clock.monotonic()
                    return
        except psycopg.Error as error:
            connection.close()
            raise LedgerError(f"the VM locks' liveness session: {one_line(error)}") from None
        connection.close()
        raise LedgerError("the VM locks' liveness session found no free key")
