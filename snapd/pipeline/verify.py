"""Judging a finished wait: did the action really leave what it was sent to leave?

An action that reports ``success`` is not yet a restore point: after a create the snapshot
is read back and must be newer than the attempt (allowing for clock skew) or carry a new
id; after a delete it must be gone. Otherwise the outcome is ``unverified``, a failure.
A wait that ended without the action's final state (timeout, a refused token, an
untrusted certificate, a stop)
says nothing about the action, so its pending row stays for the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from snapd.hostinger import ApiError, HostingerClient
from snapd.ledger import OperationKind, PendingAction
from snapd.pipeline.outcome import (
    OutcomeObserver,
    OutcomeReason,
    Result,
    SnapshotState,
    snapshot_state,
)
from snapd.pipeline.wait import WaitResult, WaitState

# The API's timestamps have second resolution and the two clocks are not the same clock.
CLOCK_SKEW = timedelta(seconds=5)

# How a finished wait reads in the ledger before the read-back, and whether it settles
# the pending row (True: the action's end was seen).
WAIT_VERDICTS = MappingProxyType(
    {
        WaitState.SUCCESS: (Result.SUCCESS, OutcomeReason.CREATED, True),
        WaitState.ERROR: (Result.FAILED, OutcomeReason.ACTION_ERROR, True),
        WaitState.TIMEOUT: (Result.TIMEOUT, OutcomeReason.ACTION_TIMEOUT, False),
        WaitState.UNAUTHORIZED: (Result.FAILED, OutcomeReason.AUTHENTICATION_FAILED, False),
        WaitState.CERTIFICATE: (Result.FAILED, OutcomeReason.CERTIFICATE_UNTRUSTED, False),
        WaitState.STOPPED: (Result.INTERRUPTED, OutcomeReason.INTERRUPTED, False),
    }
)
SUCCESS_REASONS: Mapping[str, OutcomeReason] = MappingProxyType(
    {
        OperationKind.SNAPSHOT: OutcomeReason.CREATED,
        OperationKind.DELETE: OutcomeReason.DELETED,
        OperationKind.RESTORE: OutcomeReason.RESTORED,
    }
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one attempt; ``settled``: the pending row may go."""

    result: Result
    reason: OutcomeReason
    detail: str
    new_snapshot: SnapshotState | None
    settled: bool = True


def taken_unhealthy(verdict: Verdict) -> Verdict:
    """``verdict`` of a create decided although the health check failed: a success is
    ``created_unhealthy`` (anything else stays as it is)."""
    if verdict.reason is not OutcomeReason.CREATED:
        return verdict
    detail = f"{verdict.detail}; taken while the health check failed"
    return replace(verdict, reason=OutcomeReason.CREATED_UNHEALTHY, detail=detail)


def replaced_snapshot(pending: PendingAction) -> SnapshotState | None:
    """The snapshot the pending action was going to act on, as recorded before it."""
    if pending.old_snapshot_id is None and pending.old_snapshot_created_at is None:
        return None
    return SnapshotState(pending.old_snapshot_id, pending.old_snapshot_created_at, None)


def attempt_began(pending: PendingAction) -> datetime:
    """When the attempt began by the API's clock, or by the local one if never told."""
    return pending.server_started_at or pending.started_at


def is_new_snapshot(
    before: SnapshotState | None, after: SnapshotState | None, attempt_started_at: datetime
) -> bool:
    """True when ``after`` is a snapshot made by this attempt.

    Either it was created after the attempt began (allowing for clock skew; both times in
    the API's clock), or its id differs from the one the attempt would overwrite.
    """
    if after is None:
        return False
    if after.created_at is not None and after.created_at >= attempt_started_at - CLOCK_SKEW:
        return True
    return before is not None and after.id is not None and after.id != before.id


def verify(
    client: HostingerClient,
    observer: OutcomeObserver,
    pending: PendingAction,
    waited: WaitResult,
) -> Verdict:
    """Judge a finished wait; on ``success`` read the snapshot back and compare.

    An action the API no longer knows (``gone``) is judged by the snapshot alone: adopted
    as a success when the snapshot changed as the action should have changed it, else
    ``unverified``. Either way the action's end is settled; nothing is sent again.
    """
    if waited.state is WaitState.GONE:
        return _judge_by_snapshot(client, observer, pending, waited.detail)
    result, reason, settled = WAIT_VERDICTS.get(
        waited.state, (Result.FAILED, OutcomeReason.ACTION_ERROR, True)
    )
    if result is not Result.SUCCESS:
        return Verdict(result, reason, waited.detail, None, settled)
    return read_back(client, observer, pending, waited.detail)


def read_back(
    client: HostingerClient, observer: OutcomeObserver, pending: PendingAction, detail: str
) -> Verdict:
    """After a successful action: is the snapshot what the action should have left?"""
    kind = pending.kind
    if kind == OperationKind.RESTORE:
        return Verdict(Result.SUCCESS, SUCCESS_REASONS[kind], detail, None)
    try:
        new = snapshot_state(client.get_snapshot(pending.virtual_machine_id))
    except ApiError as error:
        why = f"the action succeeded but the snapshot could not be read back: {error}"
        return Verdict(Result.UNVERIFIED, OutcomeReason.UNVERIFIED, why, None)
    observer.snapshot_seen(pending.virtual_machine_id, new)
    if kind == OperationKind.DELETE:
        if new is not None:
            return Verdict(
                Result.UNVERIFIED, OutcomeReason.UNVERIFIED, "the snapshot is still there", new
            )
        return Verdict(Result.SUCCESS, SUCCESS_REASONS[kind], detail, None)
    if not is_new_snapshot(replaced_snapshot(pending), new, attempt_began(pending)):
        why = "the action succeeded but the snapshot did not change"
        return Verdict(Result.UNVERIFIED, OutcomeReason.UNVERIFIED, why, new)
    return Verdict(Result.SUCCESS, SUCCESS_REASONS[kind], detail, new)


def _judge_by_snapshot(
    client: HostingerClient, observer: OutcomeObserver, pending: PendingAction, gone: str
) -> Verdict:
    """The action is unknown to the API: what does the snapshot say it did?"""
    if pending.kind == OperationKind.RESTORE:
        why = f"{gone}; a restore leaves no snapshot change to tell by"
        return Verdict(Result.UNVERIFIED, OutcomeReason.UNVERIFIED, why, None)
    seen = read_back(client, observer, pending, f"{gone}, but the snapshot changed: adopted")
    if seen.result is Result.SUCCESS:
        return seen
    why = f"{gone}; {seen.detail.removeprefix('the action succeeded but ')}"
    return Verdict(Result.UNVERIFIED, OutcomeReason.UNVERIFIED, why, seen.new_snapshot)
