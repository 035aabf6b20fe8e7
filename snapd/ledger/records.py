"""What the ledger stores: attempts, holds and pending actions, and how time is written.

Timestamps are stored as ISO 8601 UTC text of fixed width (``2025-01-01T03:00:00.000000Z``)
so that text order is time order and SQL can compare and sort them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from snapd.ledger.vocabulary import OperationKind, Result


class LedgerError(Exception):
    """The ledger cannot be opened or used; the message is one line for the operator."""


class NotLeaderError(LedgerError):
    """A replica that does not hold the fleet's leadership tried to write a pending row.

    Raised by a shared ledger whose leadership check failed in the very transaction of
    the write: nothing was written, and the request the row announced must not be sent.
    """


class LockLostError(LedgerError):
    """A pending row was not written because its writer no longer holds the VM's lock.

    Raised by a shared ledger when, in the very transaction of the write, the VM's lock
    lease is found taken by another holder (or run out), or the VM's pending row belongs
    to another holder whose lease is alive: nothing was written, and the request the row
    announced must not be sent.
    """


@dataclass(frozen=True)
class AttemptRecord:
    """One finished attempt to act on a virtual machine, successful or not.

    ``slot`` is the scheduled slot the attempt belongs to (``None`` for a manual run
    outside the schedule). ``old_snapshot_*`` describe the restore point the attempt would
    overwrite, ``new_snapshot_*`` the one it left behind. ``id`` is filled when read back.
    """

    virtual_machine_id: int
    kind: OperationKind
    slot: datetime | None
    started_at: datetime
    finished_at: datetime
    outcome: Result
    reason: str
    action_id: int | None = None
    old_snapshot_id: int | None = None
    old_snapshot_created_at: datetime | None = None
    new_snapshot_id: int | None = None
    new_snapshot_created_at: datetime | None = None
    correlation_id: str | None = None
    dry_run: bool = False
    id: int | None = None
    account: str = ""  # the VM's account; "" without ``accounts``

    @property
    def duration_seconds(self) -> float:
        """Seconds from start to finish."""
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class Hold:
    """An operator's request not to touch ``virtual_machine_id`` before ``until``."""

    virtual_machine_id: int
    until: datetime
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class PendingAction:
    """An action posted to the API whose end has not been seen yet.

    Stored before the request is sent (``action_id`` None: an intent) and again once the
    API named the action, so that a restarted process resumes the wait, or looks for the
    action the lost send may have started, instead of sending a second request.
    ``server_started_at`` is when the attempt began by the API's clock (from its ``Date``
    header), so that its actions can be matched even when the two clocks disagree.
    """

    virtual_machine_id: int
    action_id: int | None
    kind: str
    slot: datetime | None
    started_at: datetime
    old_snapshot_id: int | None = None
    old_snapshot_created_at: datetime | None = None
    server_started_at: datetime | None = None


def check_choice(field: str, value: str, choices: frozenset[str]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{field} must be one of {', '.join(sorted(choices))}; got {value!r}")


def encode_time(moment: datetime) -> str:
    """Write the aware ``moment`` as fixed-width UTC text; raise ``ValueError`` if naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the ledger stores aware datetimes only, got naive {moment.isoformat()}")
    utc = moment.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def encode_optional_time(moment: datetime | None) -> str | None:
    """Like :func:`encode_time`, passing ``None`` through."""
    return None if moment is None else encode_time(moment)


def decode_time(text: str) -> datetime:
    """Read stored text (second or microsecond resolution, ``Z`` or an offset) as aware UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        # Only this module writes the ledger, and it writes UTC.
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def decode_optional_time(text: str | None) -> datetime | None:
    """Like :func:`decode_time`, passing ``None`` through."""
    return None if text is None else decode_time(text)
