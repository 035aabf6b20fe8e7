"""The :class:`SqliteLedger`: one open ledger file, shared by the threads of a process.

Other processes may use the same file at the same time; SQLite's locking (WAL mode and a
busy timeout, set in :mod:`snapd.ledger.connection`) covers them. Within a process, one
lock per ``SqliteLedger`` serialises the threads that share its connection. Every write is a
single statement, so each is atomic on its own, except :meth:`SqliteLedger.record_attempt` with
``settles``, which writes the outcome and removes the pending row in one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

from snapd.ledger import attempts
from snapd.ledger import holds as hold_table
from snapd.ledger import pending as pending_table
from snapd.ledger.base import LedgerBase
from snapd.ledger.connection import open_database
from snapd.ledger.read_only import open_read_only_database
from snapd.ledger.records import AttemptRecord, Hold, LedgerError, PendingAction


class SqliteLedger(LedgerBase):
    """History of attempts, operator holds and pending actions of one state directory.

    Open with :meth:`open`; close with :meth:`close` or use as a context manager. Every
    ledger method is :class:`~snapd.ledger.base.LedgerBase`'s; this class supplies the file,
    its connection and the SQLite way of writing.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        """Wrap an open, migrated ``connection``; use :meth:`open` instead."""
        self._connection = connection
        self._path = path
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, state_dir: Path) -> SqliteLedger:
        """Open (creating if needed) ``state_dir/ledger.sqlite3``, migrating its schema.

        A new file gets mode 0600 whatever the umask.

        Raises:
            LedgerError: ``state_dir`` is missing, not a directory or not writable; the
                file is not a snapd ledger or was written by a newer snapd; SQLite cannot
                open it.
        """
        connection, path = open_database(Path(state_dir))
        return cls(connection, path)

    @classmethod
    def open_read_only(cls, state_dir: Path) -> SqliteLedger:
        """Open the existing ledger of ``state_dir`` for reading; create nothing there.

        Every read works; a write raises :class:`LedgerError`.

        Raises:
            LedgerError: there is no ledger, or it cannot be read (see
                :func:`~snapd.ledger.connection.open_read_only_database`).
        """
        connection, path = open_read_only_database(Path(state_dir))
        return cls(connection, path)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def location(self) -> str:
        """The database file, for messages."""
        return str(self._path)

    def close(self) -> None:
        """Close the database; later calls raise :class:`LedgerError`. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._connection.close()

    def _session(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._database()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._database() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                _roll_back(connection)
                raise

    def _insert_attempt(self, connection: sqlite3.Connection, record: AttemptRecord) -> int:
        return attempts.insert(connection, record)

    def _replace_hold(self, connection: sqlite3.Connection, hold: Hold) -> None:
        hold_table.replace(connection, hold)

    def _delete_pending(
        self, connection: sqlite3.Connection, virtual_machine_id: int, action_id: int | None
    ) -> None:
        pending_table.delete(connection, virtual_machine_id, action_id)

    def add_pending(self, pending: PendingAction) -> None:
        """Store ``pending`` in place of any pending action of the same VM (see the base)."""
        with self._database() as connection:
            pending_table.replace(connection, pending)

    @contextmanager
    def _database(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise LedgerError(f"ledger {self._path} is closed")
            try:
                yield self._connection
            except sqlite3.Error as error:
                message = str(error).replace("\n", " ")
                raise LedgerError(f"ledger {self._path}: {message}") from error


def _roll_back(connection: sqlite3.Connection) -> None:
    """End a failed transaction, keeping the error that failed it the one raised.

    SQLite rolls a transaction back by itself after some errors (``database or disk is
    full``); a ROLLBACK then fails with "no transaction is active", which must not hide
    the real cause.
    """
    if not connection.in_transaction:
        return
    # The error being raised says more than a failed ROLLBACK would.
    with suppress(sqlite3.Error):
        connection.execute("ROLLBACK")
