"""The :class:`PostgresLedger`: the ledger in a PostgreSQL database shared by replicas.

Needs psycopg 3 (``pip install 'hostinger-snapd[postgresql]'``); only
``snapd.runtime.open_ledger`` imports this module, and only for ``backend: postgresql``.

One connection per ledger, shared by the threads of a process under a lock, in
autocommit mode: each write is one statement, except the two that must be one
transaction (an attempt with the pending row it settles; a pending row with the proof
that this replica still leads). A lost connection is replaced at the next call, so a
database that comes back is used again without a restart.

**Fencing.** A daemon's ledger has a :class:`Fence`: every pending row it writes (the
intent written before a create, restore or delete is sent, and the action's id once
known) is written in a transaction that also finds the fleet's leadership lock held by
this replica's leadership session in ``pg_locks``. Without it the write fails with
:class:`~snapd.ledger.records.NotLeaderError` and the request is not sent. The intent
transaction takes the intent lock shared; a new leader takes it exclusively once, before
it reads pending rows, so an intent committed by the old leader is always seen.

**Per-VM fencing.** With ``fence_with`` (the leased VM locks of this process), the same
transaction also finds the VM's lock row still carrying the token this process holds, and
a pending row is never written over one whose writer's lease is still alive. Otherwise
the write fails with :class:`~snapd.ledger.records.LockLostError` and nothing is sent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from snapd.clock import Clock, SystemClock
from snapd.config.masking import mask_url
from snapd.ledger import postgres_tables as tables
from snapd.ledger.advisory import ConnectionSettings, process_identity
from snapd.ledger.base import LedgerBase
from snapd.ledger.fencing import Fence, LockTokens, confirm_leadership, confirm_lock
from snapd.ledger.postgres_schema import migrate
from snapd.ledger.records import (
    AttemptRecord,
    Hold,
    LedgerError,
    LockLostError,
    PendingAction,
)

#: A ledger statement that takes longer is cancelled (and the attempt fails closed).
STATEMENT_TIMEOUT_SECONDS = 10.0
# A connection idle longer than this is asked `SELECT 1` before use: a database restart
# or a dropped session shows up there and costs a reconnect, not the caller's operation.
IDLE_CHECK_SECONDS = 1.0


def connect(
    settings: ConnectionSettings, statement_timeout_seconds: float
) -> psycopg.Connection[Any]:
    """A new autocommit connection with snapd's keepalives; raise ``LedgerError``."""
    try:
        return psycopg.connect(settings.dsn, **settings.keywords(statement_timeout_seconds))  # type: ignore[arg-type]
    except psycopg.Error as error:
        location = mask_url(settings.dsn, keep_user=True)  # the user is no secret
        raise LedgerError(f"ledger {location}: {one_line(error)}") from None


def one_line(error: BaseException) -> str:
    """An error's message on one line (libpq's spread over several)."""
    return " ".join(str(error).split()) or type(error).__name__


class PostgresLedger(LedgerBase):
    """History, holds and pending actions of a fleet, in PostgreSQL; the ``Ledger`` protocol.

    Open with :meth:`open`. Every ledger method is :class:`~snapd.ledger.base.LedgerBase`'s;
    this class supplies the connection and PostgreSQL's writes. ``fence`` (the daemon's
    leadership) guards every pending-row write; command-line processes have none.
    """

    def __init__(
        self, settings: ConnectionSettings, fence: Fence | None = None, clock: Clock | None = None
    ) -> None:
        self._clock = clock or SystemClock()  # times the idle check of the connection
        self._settings = settings
        self._location = mask_url(settings.dsn, keep_user=True)
        self._fence = fence
        self._lock_tokens: LockTokens | None = None
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[Any] | None = None
        self._closed = False
        self._written_by = process_identity()
        self._last_used = 0.0

    @classmethod
    def open(cls, settings: ConnectionSettings, fence: Fence | None = None) -> PostgresLedger:
        """Connect and bring the schema up to date; raise ``LedgerError``."""
        ledger = cls(settings, fence)
        with ledger._database() as connection:
            migrate(connection, ledger._location)
        return ledger

    @property
    def location(self) -> str:
        """The DSN, masked."""
        return self._location

    def close(self) -> None:
        """Close the connection; later calls raise :class:`LedgerError`. Idempotent."""
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        with self._database() as connection:
            yield tables.shared(connection)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._database() as connection, connection.transaction():
            yield tables.shared(connection)

    def _insert_attempt(self, connection: sqlite3.Connection, record: AttemptRecord) -> int:
        return tables.insert_attempt(connection, record)

    def _replace_hold(self, connection: sqlite3.Connection, hold: Hold) -> None:
        tables.replace_hold(connection, hold)

    def _delete_pending(
        self, connection: sqlite3.Connection, virtual_machine_id: int, action_id: int | None
    ) -> None:
        tables.delete_pending(connection, virtual_machine_id, action_id)

    def fence_with(self, lock_tokens: LockTokens) -> None:
        """Check every later pending-row write against the VM's lock held by this process."""
        self._lock_tokens = lock_tokens

    def add_pending(self, pending: PendingAction) -> None:
        """Store ``pending``; with a fence, only while this replica leads (else
        ``NotLeaderError``); with lock tokens, only while this process's lease on the VM
        is alive, and never over the row of another holder whose lease is alive (else
        ``LockLostError``). Nothing is written when either is raised."""
        vm = pending.virtual_machine_id
        token = None if self._lock_tokens is None else self._lock_tokens.token_of(vm)
        with self._database() as connection, connection.transaction():
            if self._fence is not None:
                confirm_leadership(connection, self._fence, self._location)
            if token is not None:
                confirm_lock(connection, vm, token)
            if not tables.replace_pending(connection, pending, self._written_by, token):
                raise LockLostError(
                    f"virtual machine {vm} has a pending action of another holder "
                    "whose lock is alive; it is not replaced"
                )

    def _usable(self, connection: psycopg.Connection[Any]) -> bool:
        """False (and closed) when ``connection`` is closed, or idle and no longer answers."""
        if connection.closed:
            return False
        if self._clock.monotonic() - self._last_used < IDLE_CHECK_SECONDS:
            return True
        try:
            connection.execute("SELECT 1")
        except psycopg.Error:
            connection.close()
            return False
        return True

    @contextmanager
    def _database(self) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            if self._closed:
                raise LedgerError(f"ledger {self._location} is closed")
            if self._connection is not None and not self._usable(self._connection):
                self._connection = None
            if self._connection is None:
                self._connection = connect(self._settings, STATEMENT_TIMEOUT_SECONDS)
            connection = self._connection
            try:
                yield connection
            except psycopg.Error as error:
                if connection.broken or connection.closed:
                    connection.close()
                    self._connection = None  # the next call connects again
                raise LedgerError(f"ledger {self._location}: {one_line(error)}") from error
            finally:
                self._last_used = self._clock.monotonic()
