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
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from snapd.ledger import attempts
from snapd.ledger import holds as hold_table
from snapd.ledger import pending as pending_table
from snapd.ledger.connection import open_database, open_read_only_database
from snapd.ledger.protocol import ClosedOnExit
from snapd.ledger.records import AttemptRecord, Hold, LedgerError, PendingAction


class SqliteLedger(ClosedOnExit):
    """History of attempts, operator holds and pending actions of one state directory.

    Open with :meth:`open`; close with :meth:`close` or use as a context manager. All
    methods are thread-safe. Datetimes given must be aware (``ValueError`` otherwise);
    datetimes returned are aware UTC. A database failure raises :class:`LedgerError`.
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

    # Attempts

    def record_attempt(self, record: AttemptRecord, settles: PendingAction | None = None) -> int:
        """Store ``record`` (its ``id`` is ignored) and return its new row id.

        With ``settles``, that pending row is removed in the same transaction: a crash can
        leave the outcome or the pending row, never neither, so snapd never forgets that
        it made a snapshot.

        Raises:
            ValueError: unknown ``kind`` or ``outcome``, or a naive datetime.
        """
        with self._database() as connection:
            if settles is None:
                return attempts.insert(connection, record)
            connection.execute("BEGIN IMMEDIATE")
            try:
                row_id = attempts.insert(connection, record)
                pending_table.delete(connection, settles.virtual_machine_id, settles.action_id)
                connection.execute("COMMIT")
            except BaseException:
                _roll_back(connection)
                raise
            return row_id

    def history(
        self, virtual_machine_id: int | None = None, limit: int = 50
    ) -> list[AttemptRecord]:
        """The latest ``limit`` attempts of one VM, or of all with ``None``; newest first.

        "Newest" is by ``finished_at``, then by the order of recording.

        Raises:
            ValueError: ``limit`` is below 1.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        with self._database() as connection:
            if virtual_machine_id is None:
                clause = f"{attempts.NEWEST_FIRST} LIMIT ?"
                return attempts.select(connection, clause, (limit,))
            clause = f"WHERE virtual_machine_id = ? {attempts.NEWEST_FIRST} LIMIT ?"
            return attempts.select(connection, clause, (virtual_machine_id, limit))

    def slot_succeeded(self, virtual_machine_id: int, slot: datetime) -> bool:
        """True when a real (not dry-run) snapshot attempt of the VM succeeded for ``slot``."""
        with self._database() as connection:
            return attempts.slot_succeeded(connection, virtual_machine_id, slot)

    def last_success(self, virtual_machine_id: int) -> AttemptRecord | None:
        """The latest successful, non-dry-run snapshot attempt of the VM, if any."""
        clause = (
            f"WHERE virtual_machine_id = ? AND {attempts.SUCCESSFUL_SNAPSHOT} "
            f"{attempts.NEWEST_FIRST} LIMIT 1"
        )
        with self._database() as connection:
            found = attempts.select(connection, clause, (virtual_machine_id,))
        return found[0] if found else None

    def last_successes(self) -> dict[int, datetime]:
        """VM id → when its latest successful snapshot attempt finished, for every VM with one."""
        with self._database() as connection:
            return attempts.last_successes(connection)

    def last_action_seconds(self, virtual_machine_id: int) -> float | None:
        """How long the VM's latest successful snapshot attempt took, if there is one."""
        record = self.last_success(virtual_machine_id)
        return None if record is None else record.duration_seconds

    def made_by_snapd(
        self, virtual_machine_id: int, snapshot_id: int | None, created_at: datetime | None
    ) -> bool:
        """True when a successful snapshot attempt of the VM left this snapshot behind.

        Matched by id; an attempt recorded without an id, or a question without one, is
        matched by ``created_at`` within 2 seconds. With neither, the answer is False.
        """
        with self._database() as connection:
            return attempts.made_by_snapd(connection, virtual_machine_id, snapshot_id, created_at)

    # Holds: at most one per VM

    def set_hold(self, hold: Hold) -> None:
        """Store ``hold``, replacing any hold the VM already had."""
        with self._database() as connection:
            hold_table.replace(connection, hold)

    def release_hold(self, virtual_machine_id: int) -> bool:
        """Remove the VM's hold; True when it had one (even an expired one)."""
        with self._database() as connection:
            return hold_table.delete(connection, virtual_machine_id)

    def active_hold(self, virtual_machine_id: int, now: datetime) -> Hold | None:
        """The VM's hold if it lasts beyond ``now``."""
        with self._database() as connection:
            found = hold_table.active(connection, now, virtual_machine_id)
        return found[0] if found else None

    def holds(self, now: datetime) -> list[Hold]:
        """Every hold that lasts beyond ``now``, by VM id."""
        with self._database() as connection:
            return hold_table.active(connection, now)

    # Pending actions: at most one per VM

    def add_pending(self, pending: PendingAction) -> None:
        """Remember an action being waited for, replacing any other of the same VM.

        Replacing rather than refusing: once the API has accepted a new action, that is
        the action to wait for, and losing its record could lead to a second post.

        Raises:
            ValueError: unknown ``kind`` or a naive datetime.
        """
        with self._database() as connection:
            pending_table.replace(connection, pending)

    def pending(self) -> list[PendingAction]:
        """Every pending action, oldest first."""
        with self._database() as connection:
            return pending_table.select(connection)

    def pending_for(self, virtual_machine_id: int) -> PendingAction | None:
        """The VM's pending action, if any."""
        with self._database() as connection:
            found = pending_table.select(connection, virtual_machine_id)
        return found[0] if found else None

    def remove_pending(self, virtual_machine_id: int, action_id: int | None) -> None:
        """Forget the VM's pending action if it is ``action_id``; a newer one stays.

        ``None`` removes an intent: a create about to be sent, its action id not yet known.
        """
        with self._database() as connection:
            pending_table.delete(connection, virtual_machine_id, action_id)

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
