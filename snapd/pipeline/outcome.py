"""What one slot (or one restore/delete) ended with, and who gets told about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from snapd.hostinger import (
    ApiError,
    AuthenticationError,
    RateLimitedError,
    Snapshot,
    UnreadableSnapshotError,
)
from snapd.ledger import OperationKind
from snapd.ledger import Result as Result  # the pipeline's name for it, kept
from snapd.pipeline.decide import Reason

ATTEMPT_RESULTS = (
    Result.SUCCESS,
    Result.FAILED,
    Result.UNVERIFIED,
    Result.TIMEOUT,
    Result.AMBIGUOUS,
)


class OutcomeReason(StrEnum):
    """Why an attempt ended as it did; a skip's reasons are ``decide.Reason``."""

    CREATED = "created"
    # Created and verified although the health check failed: the VM had no restore point.
    CREATED_UNHEALTHY = "created_unhealthy"
    DELETED = "deleted"
    RESTORED = "restored"
    UNVERIFIED = "unverified"
    AMBIGUOUS = "ambiguous"
    INTERRUPTED = "interrupted"
    AUTHENTICATION_FAILED = "authentication_failed"
    RATE_LIMITED = "rate_limited"
    API_ERROR = "api_error"
    BUSY = "busy"
    BUSY_TIMEOUT = "busy_timeout"
    CONNECTION_FAILED = "connection_failed"
    # The API's TLS certificate was not trusted (FailureReason.CERTIFICATE): every later
    # request would fail alike, so a wait ends at once instead of polling to its timeout.
    CERTIFICATE_UNTRUSTED = "certificate_untrusted"
    ACTION_ERROR = "action_error"
    ACTION_TIMEOUT = "action_timeout"
    SNAPSHOT_CHANGED = "snapshot_changed"
    UNREADABLE_SNAPSHOT = "unreadable_snapshot"  # neither a snapshot nor "no snapshot"
    LOCK_UNAVAILABLE = "lock_unavailable"
    LOCK_LOST = "lock_lost"
    # The VM's lock file or the ledger could not be written (a full disk, a read-only
    # state_dir, a database gone): the detail names the real error.
    STATE_ERROR = "state_error"


class StateOperation(StrEnum):
    """What snapd was writing when its state failed: the ``operation`` label of
    ``snapd_state_errors_total`` (a closed set, so the label stays bounded)."""

    LOCK = "lock"  # the VM's lock file in state_dir/locks
    RECORD = "record"  # the outcome's ledger row


# Every reason an outcome may carry: a closed set, so a typo is a type error.
AnyReason = Reason | OutcomeReason


def failure_reason(error: ApiError) -> OutcomeReason:
    """The named reason of an attempt that failed on ``error`` before anything was sent."""
    if isinstance(error, AuthenticationError):
        return OutcomeReason.AUTHENTICATION_FAILED
    if isinstance(error, RateLimitedError):
        return OutcomeReason.RATE_LIMITED
    if isinstance(error, UnreadableSnapshotError):
        return OutcomeReason.UNREADABLE_SNAPSHOT
    return OutcomeReason.API_ERROR


@dataclass(frozen=True)
class SnapshotState:
    """The snapshot a VM had at a moment (None fields: the API did not say)."""

    id: int | None
    created_at: datetime | None
    expires_at: datetime | None


def snapshot_state(snapshot: Snapshot | None) -> SnapshotState | None:
    """The ledger's and the metrics' view of an API snapshot (None: the VM has none)."""
    if snapshot is None:
        return None
    return SnapshotState(snapshot.id, snapshot.created_at, snapshot.expires_at)


@dataclass(frozen=True)
class Outcome:
    """The result of one pipeline run for one VM.

    ``reason`` is a named reason (a bounded label value); ``detail`` is the human sentence.
    """

    virtual_machine_id: int
    kind: OperationKind
    slot: datetime | None
    result: Result
    reason: AnyReason
    detail: str
    started_at: datetime
    finished_at: datetime
    action_id: int | None = None
    old_snapshot: SnapshotState | None = None
    new_snapshot: SnapshotState | None = None
    correlation_id: str | None = None
    dry_run: bool = False
    account: str = ""  # the VM's ``accounts`` entry; "" without ``accounts``

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class OutcomeObserver(Protocol):
    """Receives every outcome and every snapshot seen (the metrics module implements it)."""

    def outcome(self, outcome: Outcome) -> None: ...

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None: ...

    def api_unauthorized(self) -> None: ...

    def state_error(self, operation: StateOperation) -> None: ...


class NullOutcomeObserver:
    """An observer that ignores everything (tests and one-off commands)."""

    def outcome(self, outcome: Outcome) -> None:
        return None

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        return None

    def api_unauthorized(self) -> None:
        return None

    def state_error(self, operation: StateOperation) -> None:
        return None


class FanOut:
    """An observer that hands everything to several observers, in the order given.

    The daemon's metrics, hold gauge, notifications and expiry refresh each see every
    outcome through one of these, so the pipeline calls one observer and knows none of them.
    """

    def __init__(self, *observers: OutcomeObserver) -> None:
        self.observers = list(observers)

    def outcome(self, outcome: Outcome) -> None:
        for observer in self.observers:
            observer.outcome(outcome)

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        for observer in self.observers:
            observer.snapshot_seen(virtual_machine_id, snapshot)

    def api_unauthorized(self) -> None:
        for observer in self.observers:
            observer.api_unauthorized()

    def state_error(self, operation: StateOperation) -> None:
        for observer in self.observers:
            observer.state_error(operation)
