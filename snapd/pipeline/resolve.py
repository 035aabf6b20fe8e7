"""Resolving a request that may have been executed, by observation only.

After an ambiguous send (a timeout, reset, 5xx or unreadable answer), or after a process
died between writing its intent and recording the answer, nobody knows whether the
action exists. Sending again could overwrite the only restore point twice, so snapd only
looks, until ``action_timeout``:

* the VM's action list: an action of the right kind created since the attempt began,
  compared in the API's own clock (the intent's ``server_started_at``, taken from the
  ``Date`` header) with a generous margin, or still running whatever its timestamps say;
* the snapshot itself: a new id or a ``created_at`` after the attempt began proves a
  create ran; no snapshot proves a delete ran.

An action list that lags, a busy VM (``actions_lock: locked``) or a failed read only
means "look again later".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

import structlog

from snapd.backoff import Backoff
from snapd.clock import Clock
from snapd.hostinger import Action, ApiError, AuthenticationError, HostingerClient
from snapd.ledger import OperationKind, PendingAction
from snapd.pipeline.outcome import OutcomeReason, Result, SnapshotState, snapshot_state
from snapd.pipeline.verify import (
    SUCCESS_REASONS,
    Verdict,
    attempt_began,
    is_new_snapshot,
    replaced_snapshot,
)
from snapd.pipeline.wait import untrusted, wait_for

log = structlog.get_logger("snapd.resolving")

# Action names as the API reports them, by the operation that started them.
ACTION_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        OperationKind.SNAPSHOT: ("create_snapshot", "snapshot_create", "create snapshot"),
        OperationKind.RESTORE: ("restore_snapshot", "snapshot_restore", "restore snapshot"),
        OperationKind.DELETE: ("delete_snapshot", "snapshot_delete", "delete snapshot"),
    }
)
ACTION_PAGES_TO_SEARCH = 2
# Between the Date header read before the send and the action's created_at lie the
# header's one-second resolution and the server's own processing; a minute covers both.
MATCH_MARGIN = timedelta(seconds=60)


class ResolutionState(StrEnum):
    """What observation found (see ``Resolution``)."""

    ACTION = "action"
    OBSERVED = "observed"
    UNRESOLVED = "unresolved"
    UNAUTHORIZED = "unauthorized"
    STOPPED = "stopped"
    CERTIFICATE = "certificate"


@dataclass(frozen=True)
class Resolution:
    """What observation found.

    ``state``: ``action`` (``action`` is the action to wait for), ``observed`` (no action
    found, but the snapshot shows the request ran; ``snapshot`` is what it left),
    ``unresolved`` (nothing showed either way by the deadline), ``unauthorized``,
    ``certificate`` (the API's TLS certificate was not trusted: looking again would not
    help, and the intent stays recorded) or ``stopped``.
    """

    state: ResolutionState
    detail: str
    action: Action | None = None
    snapshot: SnapshotState | None = None


def matches(action: Action, kind: str, since: datetime) -> bool:
    """True when ``action`` may be the one an attempt of ``kind`` begun at ``since`` started.

    ``since`` is in the API's clock. A running action of the kind matches whatever its
    timestamps: it is overwriting the snapshot either way, so waiting for it is right.
    """
    if action.name.lower() not in ACTION_NAMES[kind]:
        return False
    if not action.is_final or action.created_at is None:
        return True
    return action.created_at >= since - MATCH_MARGIN


def find_started_action(
    client: HostingerClient, virtual_machine_id: int, kind: str, since: datetime
) -> Action | None:
    """The newest matching action from the first pages of the VM's action list."""
    for page_number in range(1, ACTION_PAGES_TO_SEARCH + 1):
        page = client.list_actions(virtual_machine_id, page=page_number)
        for action in page.actions:
            if matches(action, kind, since):
                return action
        if not page.has_more:
            break
    return None


def observe_once(client: HostingerClient, pending: PendingAction) -> Resolution | None:
    """One look at the action list and the snapshot; None when neither tells.

    Raises ``ApiError`` when a read fails.
    """
    since = attempt_began(pending)
    vm = pending.virtual_machine_id
    found = find_started_action(client, vm, pending.kind, since)
    if found is not None:
        return Resolution(
            ResolutionState.ACTION, f"found action {found.id} in the action list", action=found
        )
    if pending.kind == OperationKind.RESTORE:
        return None  # a restore leaves the snapshot as it was: only its action can tell
    current = snapshot_state(client.get_snapshot(vm))
    if pending.kind == OperationKind.DELETE and current is None:
        return Resolution(ResolutionState.OBSERVED, "the snapshot is gone")
    if pending.kind == OperationKind.SNAPSHOT and is_new_snapshot(
        replaced_snapshot(pending), current, since
    ):
        return Resolution(ResolutionState.OBSERVED, "the snapshot changed", snapshot=current)
    return None


@dataclass
class ResolutionWatch:
    """One intent being resolved by observation: the looks so far and the next pause.

    The first look is at once; then the pause grows. Run on the calling thread by
    :func:`resolve` or from the poller's thread, with the same meaning of each look.
    """

    pending: PendingAction
    deadline: datetime
    backoff: Backoff = field(default_factory=lambda: Backoff(first=5.0, factor=2.0, maximum=60.0))
    next_pause: float = 0.0
    polled: bool = False

    @property
    def virtual_machine_id(self) -> int:
        return self.pending.virtual_machine_id

    def pause(self, now: datetime) -> float:
        remaining = (self.deadline - now).total_seconds()
        return max(min(self.next_pause, remaining), 0.0)

    def poll(self, client: HostingerClient) -> Resolution | None:
        """Look once at the action list and the snapshot: the resolution, or None."""
        self.polled = True
        pending, vm = self.pending, self.pending.virtual_machine_id
        try:
            found = observe_once(client, pending)
        except AuthenticationError as error:
            return Resolution(ResolutionState.UNAUTHORIZED, f"the API refused the token: {error}")
        except ApiError as error:
            if untrusted(error):
                return Resolution(ResolutionState.CERTIFICATE, error.message)
            log.warning(
                "resolution_read_failed",
                vm=vm,
                kind=pending.kind,
                error=str(error),
                correlation_id=error.correlation_id,
            )
            found = None
        if found is not None:
            log.info("ambiguous_send_resolved", vm=vm, kind=pending.kind, how=found.detail)
            return found
        self.next_pause = self.backoff.next()
        return None

    def expired(self, now: datetime) -> Resolution | None:
        if self.polled and (self.deadline - now).total_seconds() <= 0:
            return Resolution(
                ResolutionState.UNRESOLVED,
                f"no action and no change seen by the deadline; the {self.pending.kind} "
                "request may or may not have been executed",
            )
        return None

    def stopped(self) -> Resolution:
        return Resolution(ResolutionState.STOPPED, "stopping; the intent stays recorded")


def resolve(
    client: HostingerClient,
    clock: Clock,
    pending: PendingAction,
    deadline: datetime,
    should_stop: Callable[[], bool],
) -> Resolution:
    """Look until something shows whether ``pending``'s request ran, or ``deadline`` passes.

    Always looks at least once, even past the deadline (a restarted process resolving an
    old intent). Never sends anything.
    """
    return wait_for(client, clock, ResolutionWatch(pending, deadline), should_stop)


def resolution_verdict(kind: OperationKind, resolution: Resolution) -> Verdict:
    """An intent whose action was not found: what observation says it ended with.

    (A refused token is the caller's to report: this only names the verdict.)
    """
    if resolution.state is ResolutionState.OBSERVED:
        detail = f"no action found, but {resolution.detail}"
        return Verdict(Result.SUCCESS, SUCCESS_REASONS[kind], detail, resolution.snapshot)
    if resolution.state is ResolutionState.UNAUTHORIZED:
        return Verdict(
            Result.FAILED, OutcomeReason.AUTHENTICATION_FAILED, resolution.detail, None, False
        )
    if resolution.state is ResolutionState.CERTIFICATE:
        return Verdict(
            Result.FAILED, OutcomeReason.CERTIFICATE_UNTRUSTED, resolution.detail, None, False
        )
    if resolution.state is ResolutionState.STOPPED:
        return Verdict(
            Result.INTERRUPTED, OutcomeReason.INTERRUPTED, resolution.detail, None, False
        )
    return Verdict(Result.AMBIGUOUS, OutcomeReason.AMBIGUOUS, resolution.detail, None)
