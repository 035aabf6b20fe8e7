"""Verify: after the action, is there really a new snapshot?

An action that reports ``success`` is not yet a restore point: the snapshot is read back
and must be newer than the attempt (allowing for clock skew) or carry a new id. Otherwise
the outcome is ``unverified``, a failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapd.hostinger import ApiError, HostingerClient
from snapd.ledger import PendingAction
from snapd.outcome import OutcomeObserver, Result, SnapshotState
from snapd.waiting import WaitResult, is_new_snapshot, snapshot_state

# How a finished wait reads in the ledger when no verification overrides it.
WAIT_VERDICTS = {
    "success": (Result.SUCCESS, "created"),
    "error": (Result.FAILED, "action_error"),
    "timeout": (Result.TIMEOUT, "action_timeout"),
}


@dataclass(frozen=True)
class Verdict:
    result: Result
    reason: str
    detail: str
    new_snapshot: SnapshotState | None


def replaced_snapshot(pending: PendingAction) -> SnapshotState | None:
    """The snapshot the pending action was going to overwrite, as recorded before it."""
    if pending.old_snapshot_id is None and pending.old_snapshot_created_at is None:
        return None
    return SnapshotState(pending.old_snapshot_id, pending.old_snapshot_created_at, None)


def verify(
    client: HostingerClient,
    observer: OutcomeObserver,
    pending: PendingAction,
    waited: WaitResult,
) -> Verdict:
    """Judge a finished wait; on ``success`` read the snapshot back and compare."""
    result, reason = WAIT_VERDICTS.get(waited.state, (Result.FAILED, "action_error"))
    if result is not Result.SUCCESS:
        return Verdict(result, reason, waited.detail, None)
    try:
        new = snapshot_state(client.get_snapshot(pending.virtual_machine_id))
    except ApiError as error:
        detail = f"the action succeeded but the snapshot could not be read back: {error}"
        return Verdict(Result.UNVERIFIED, "unverified", detail, None)
    observer.snapshot_seen(pending.virtual_machine_id, new)
    if not is_new_snapshot(replaced_snapshot(pending), new, pending.started_at):
        detail = "the action succeeded but the snapshot did not change"
        return Verdict(Result.UNVERIFIED, "unverified", detail, new)
    return Verdict(Result.SUCCESS, reason, waited.detail, new)
