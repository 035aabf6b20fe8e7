"""What every ledger offers, whichever database keeps it: the :class:`Ledger` protocol.

Two implementations serve it: :class:`~snapd.ledger.store.SqliteLedger` (a file in
``state_dir``, the default) and :class:`~snapd.ledger.postgres.PostgresLedger` (a database
shared by the replicas of a fleet). ``snapd.runtime.open_ledger`` chooses; everything else
holds a ``Ledger`` and does not know which.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from snapd.ledger.records import AttemptRecord, Hold, PendingAction


class Ledger(Protocol):
    """History of attempts, operator holds and pending actions (at most one per VM).

    Every method is thread-safe. Datetimes given must be aware (``ValueError``
    otherwise); datetimes returned are aware UTC. A database failure raises
    :class:`~snapd.ledger.records.LedgerError`; a write of a pending row by a replica
    that no longer leads raises its subclass
    :class:`~snapd.ledger.records.NotLeaderError` (and writes nothing).
    """

    @property
    def location(self) -> str:
        """Where the ledger is, for messages: a file path or a masked DSN."""
        ...

    def close(self) -> None:
        """Release the database; later calls raise ``LedgerError``. Idempotent."""
        ...

    def __enter__(self) -> Ledger: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def record_attempt(self, record: AttemptRecord, settles: PendingAction | None = None) -> int:
        """Store ``record`` and return its row id; with ``settles``, remove that pending
        row in the same transaction (a crash leaves one or the other, never neither)."""
        ...

    def history(
        self, virtual_machine_id: int | None = None, limit: int = 50
    ) -> list[AttemptRecord]:
        """The latest ``limit`` attempts of one VM, or of all with ``None``; newest first."""
        ...

    def slot_succeeded(self, virtual_machine_id: int, slot: datetime) -> bool:
        """True when a real snapshot attempt of the VM succeeded for ``slot``."""
        ...

    def last_success(self, virtual_machine_id: int) -> AttemptRecord | None:
        """The latest successful, non-dry-run snapshot attempt of the VM, if any."""
        ...

    def last_successes(self) -> dict[int, datetime]:
        """VM id → when its latest successful snapshot attempt finished."""
        ...

    def last_action_seconds(self, virtual_machine_id: int) -> float | None:
        """How long the VM's latest successful snapshot attempt took, if there is one."""
        ...

    def made_by_snapd(
        self, virtual_machine_id: int, snapshot_id: int | None, created_at: datetime | None
    ) -> bool:
        """True when a successful snapshot attempt of the VM left this snapshot behind."""
        ...

    def set_hold(self, hold: Hold) -> None:
        """Store ``hold``, replacing any hold the VM already had."""
        ...

    def release_hold(self, virtual_machine_id: int) -> bool:
        """Remove the VM's hold; True when it had one (even an expired one)."""
        ...

    def active_hold(self, virtual_machine_id: int, now: datetime) -> Hold | None:
        """The VM's hold if it lasts beyond ``now``."""
        ...

    def holds(self, now: datetime) -> list[Hold]:
        """Every hold that lasts beyond ``now``, by VM id."""
        ...

    def add_pending(self, pending: PendingAction) -> None:
        """Remember an action (or, ``action_id`` None, an intent) of the VM, replacing
        any other; committed when this returns, so a request may be sent after it."""
        ...

    def pending(self) -> list[PendingAction]:
        """Every pending action, oldest first."""
        ...

    def pending_for(self, virtual_machine_id: int) -> PendingAction | None:
        """The VM's pending action, if any."""
        ...

    def remove_pending(self, virtual_machine_id: int, action_id: int | None) -> None:
        """Forget the VM's pending action if it is ``action_id`` (None: an intent)."""
        ...


class ClosedOnExit:
    """``with ledger:`` closes it at the end: the context manager both ledgers share."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
