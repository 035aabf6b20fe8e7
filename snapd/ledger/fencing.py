"""The checks a pending-row write of the PostgreSQL ledger makes in its own transaction.

Two fences, each proving right now, inside the transaction that writes the row, a claim
the process made earlier: that its leadership session still holds the fleet's lock
(:func:`confirm_leadership`), and that the VM's lock row still carries the token this
process got when it took the lock (:func:`confirm_lock`). The request the row announces
is sent only after the commit, so a process that lost either claim sends nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from snapd.ledger.advisory import INTENT_NAMESPACE, LEADERSHIP_NAMESPACE
from snapd.ledger.records import LockLostError, NotLeaderError

if TYPE_CHECKING:
    import psycopg

_HOLDS_LOCK = """
SELECT 1 FROM pg_locks
WHERE locktype = 'advisory' AND database = (
    SELECT oid FROM pg_database WHERE datname = current_database()
) AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2 AND pid = %s AND granted
"""
# FOR SHARE: a holder taking the lock over waits for this transaction, and then finds
# the pending row it committed (and resumes it instead of sending).
_HOLDS_VIRTUAL_MACHINE = """
SELECT 1 FROM virtual_machine_locks
WHERE virtual_machine_id = %s AND token = %s AND expires_at > clock_timestamp() FOR SHARE
"""


class LockTokens(Protocol):
    """The per-VM locks this process holds, as the ledger checks them."""

    def token_of(self, virtual_machine_id: int) -> int | None:
        """The fencing token of the VM's lock while this process holds it, else None."""
        ...


class Fence(Protocol):
    """This replica's leadership, as the ledger checks it."""

    @property
    def fleet_key(self) -> int:
        """The second key of the fleet's leadership and intent locks."""
        ...

    def holder_pid(self) -> int | None:
        """The database backend pid of the session holding the lock; None when standby."""
        ...


def confirm_leadership(connection: psycopg.Connection[Any], fence: Fence, location: str) -> None:
    """Raise ``NotLeaderError`` unless the fleet's lock is held by this replica's
    leadership session right now, inside the caller's transaction."""
    connection.execute(
        "SELECT pg_advisory_xact_lock_shared(%s, %s)", (INTENT_NAMESPACE, fence.fleet_key)
    )
    pid = fence.holder_pid()
    held = (
        pid is not None
        and connection.execute(_HOLDS_LOCK, (LEADERSHIP_NAMESPACE, fence.fleet_key, pid)).fetchone()
    )
    if not held:
        raise NotLeaderError(
            f"ledger {location}: this replica does not hold the fleet's leadership"
        )


def confirm_lock(connection: psycopg.Connection[Any], virtual_machine_id: int, token: int) -> None:
    """Raise ``LockLostError`` unless the VM's lock row carries ``token`` and its lease is
    alive, inside the caller's transaction (which it keeps from being taken until the end)."""
    if not connection.execute(_HOLDS_VIRTUAL_MACHINE, (virtual_machine_id, token)).fetchone():
        raise LockLostError(
            f"virtual machine {virtual_machine_id}'s lock was lost: its lease ran out or its "
            "holder's session ended, and another holder took it"
        )
