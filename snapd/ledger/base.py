"""The :class:`LedgerBase`: every ledger method written once, whichever database keeps it.

A backend (:class:`~snapd.ledger.store.SqliteLedger`,
:class:`~snapd.ledger.postgres.PostgresLedger`) supplies only what its database does
differently: a session and a transaction (each yielding a connection that takes SQL with
``?`` placeholders and turns database errors into :class:`LedgerError`), the writes whose
SQL differs (an attempt's new row id, the hold upsert, the pending-row delete) and how a
pending row is written (the shared ledger fences it). The reads are the same SQL on both.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import datetime

from snapd.ledger import attempts
from snapd.ledger import holds as hold_table
from snapd.ledger import pending as pending_table
from snapd.ledger.protocol import ClosedOnExit
from snapd.ledger.records import AttemptRecord, Hold, PendingAction


class LedgerBase(ClosedOnExit, ABC):
    """History of attempts, operator holds and pending actions; the ``Ledger`` protocol.

    All methods are thread-safe. Datetimes given must be aware (``ValueError`` otherwise);
    datetimes returned are aware UTC. A database failure raises ``LedgerError``.
    """

    # What a backend supplies

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the ledger is, for messages (a password never shows)."""

    @abstractmethod
    def _session(self) -> AbstractContextManager[sqlite3.Connection]:
        """The connection, held by this thread, for statements that commit one by one."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """The connection, held by this thread, in one transaction: committed when the
        block ends, rolled back when it raises (the block's error is the one raised)."""

    @abstractmethod
    def _insert_attempt(self, connection: sqlite3.Connection, record: AttemptRecord) -> int:
        """Store ``record`` and return its new row id (``ValueError`` as ``row_values``)."""

    @abstractmethod
    def _replace_hold(self, connection: sqlite3.Connection, hold: Hold) -> None:
        """Store ``hold`` in place of any hold of the same VM."""

    @abstractmethod
    def _delete_pending(
        self, connection: sqlite3.Connection, virtual_machine_id: int, action_id: int | None
    ) -> None:
        """Remove the VM's pending action only if it is ``action_id`` (None: an intent)."""

    @abstractmethod
    def add_pending(self, pending: PendingAction) -> None:
        """Remember an action being waited for, in place of any other of the same VM.

        Replacing rather than refusing: once the API has accepted a new action, that is
        the action to wait for, and losing its record could lead to a second post.

        Raises:
            ValueError: unknown ``kind`` or a naive datetime.
        """

    # Attempts

    def record_attempt(self, record: AttemptRecord, settles: PendingAction | None = None) -> int:
        """Store ``record`` (its ``id`` is ignored) and return its new row id.

        With ``settles``, that pending row is removed in the same transaction: a crash can
        leave the outcome or the pending row, never neither, so snapd never forgets that
        it made a snapshot.

        Raises:
            ValueError: unknown ``kind`` or ``outcome``, or a naive datetime.
        """
        if settles is None:
            with self._session() as connection:
                return self._insert_attempt(connection, record)
        with self._transaction() as connection:
            row_id = self._insert_attempt(connection, record)
            self._delete_pending(connection, settles.virtual_machine_id, settles.action_id)
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
        with self._session() as connection:
            if virtual_machine_id is None:
                clause = f"{attempts.NEWEST_FIRST} LIMIT ?"
                return attempts.select(connection, clause, (limit,))
            clause = f"WHERE virtual_machine_id = ? {attempts.NEWEST_FIRST} LIMIT ?"
            return attempts.select(connection, clause, (virtual_machine_id, limit))

    def slot_succeeded(self, virtual_machine_id: int, slot: datetime) -> bool:
        """True when a real (not dry-run) snapshot attempt of the VM succeeded for ``slot``."""
        with self._session() as connection:
            return attempts.slot_succeeded(connection, virtual_machine_id, slot)

    def last_success(self, virtual_machine_id: int) -> AttemptRecord | None:
        """The latest successful, non-dry-run snapshot attempt of the VM, if any."""
        clause = (
            f"WHERE virtual_machine_id = ? AND {attempts.SUCCESSFUL_SNAPSHOT} "
            f"{attempts.NEWEST_FIRST} LIMIT 1"
        )
        with self._session() as connection:
            found = attempts.select(connection, clause, (virtual_machine_id,))
        return found[0] if found else None

    def last_successes(self) -> dict[int, datetime]:
        """VM id → when its latest successful snapshot attempt finished, for every VM with one."""
        with self._session() as connection:
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
        with self._session() as connection:
            return attempts.made_by_snapd(connection, virtual_machine_id, snapshot_id, created_at)

    # Holds: at most one per VM

    def set_hold(self, hold: Hold) -> None:
        """Store ``hold``, replacing any hold the VM already had."""
        with self._session() as connection:
            self._replace_hold(connection, hold)

    def release_hold(self, virtual_machine_id: int) -> bool:
        """Remove the VM's hold; True when it had one (even an expired one)."""
        with self._session() as connection:
            return hold_table.delete(connection, virtual_machine_id)

    def active_hold(self, virtual_machine_id: int, now: datetime) -> Hold | None:
        """The VM's hold if it lasts beyond ``now``."""
        with self._session() as connection:
            found = hold_table.active(connection, now, virtual_machine_id)
        return found[0] if found else None

    def holds(self, now: datetime) -> list[Hold]:
        """Every hold that lasts beyond ``now``, by VM id."""
        with self._session() as connection:
            return hold_table.active(connection, now)

    # Pending actions: at most one per VM

    def pending(self) -> list[PendingAction]:
        """Every pending action, oldest first."""
        with self._session() as connection:
            return pending_table.select(connection)

    def pending_for(self, virtual_machine_id: int) -> PendingAction | None:
        """The VM's pending action, if any."""
        with self._session() as connection:
            found = pending_table.select(connection, virtual_machine_id)
        return found[0] if found else None

    def remove_pending(self, virtual_machine_id: int, action_id: int | None) -> None:
        """Forget the VM's pending action if it is ``action_id``; a newer one stays.

        ``None`` removes an intent: a create about to be sent, its action id not yet known.
        """
        with self._session() as connection:
            self._delete_pending(connection, virtual_machine_id, action_id)
