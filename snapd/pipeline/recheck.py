"""Deciding again before a request goes out a second time, on fresh facts.

A create, restore or delete answered busy (409/422), rate-limited (429) or with a refused
connection was not executed, and :func:`~snapd.pipeline.send.send_once` may send it again
for up to ``busy_timeout``. Meanwhile an operator may have placed a hold, taken a snapshot
by hand or stopped the VM, so before each re-send the VM and its snapshot are read again
(each alone, never from a shared listing) and the guards are asked again. The answer is
:class:`~snapd.pipeline.send.Proceed` (send), ``NotYet`` (still busy: look again later)
or ``Refusal`` (the attempt ends here, with a named reason).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.hostinger import ApiError, ConnectionFailedError, HostingerClient, ServerError
from snapd.ledger import Ledger, PendingAction
from snapd.pipeline.decide import Decision, Facts, Reason, Step, carry_checks, decide
from snapd.pipeline.outcome import (
    OutcomeObserver,
    OutcomeReason,
    Result,
    SnapshotState,
    failure_reason,
    snapshot_state,
)
from snapd.pipeline.preflight import Preflight, collect_facts, guards_of
from snapd.pipeline.send import NotYet, Proceed, Recheck, Refusal

log = structlog.get_logger("snapd.rechecking")

# Answers after which looking again later may tell more; anything else ends the attempt.
PASSING_ERRORS = (ConnectionFailedError, ServerError)


def read_snapshot(
    client: HostingerClient, observer: OutcomeObserver, virtual_machine_id: int
) -> SnapshotState | None:
    """The VM's snapshot read now (and shown to the observer); ``ApiError`` propagates."""
    snapshot = snapshot_state(client.get_snapshot(virtual_machine_id))
    observer.snapshot_seen(virtual_machine_id, snapshot)
    return snapshot


def look_refusal(error: ApiError, what: str) -> NotYet | Refusal:
    """What a re-check that could not read ``what`` answers: look again after a passing
    error (and a 429), refuse with the error's named reason otherwise."""
    detail = f"{what} could not be read before sending again: {error}"
    reason = failure_reason(error)
    if isinstance(error, PASSING_ERRORS) or reason is OutcomeReason.RATE_LIMITED:
        return NotYet(detail)
    return Refusal(Result.FAILED, reason, detail, correlation_id=error.correlation_id)


@dataclass
class CreateRecheck:
    """The guards of a scheduled create, asked again on a fresh VM read and snapshot read.

    ``checked`` are the facts the first decision rested on; their health check and pre-hook
    results are carried over (the checks do not run again).
    """

    client: HostingerClient
    ledger: Ledger
    clock: Clock
    observer: OutcomeObserver
    policy: VirtualMachinePolicy
    slot: datetime | None
    checked: Facts
    force: bool

    def __call__(self) -> Proceed | NotYet | Refusal:
        vm = self.policy.id
        try:
            machine = self.client.get_virtual_machine(vm)
            snapshot = read_snapshot(self.client, self.observer, vm)
        except ApiError as error:
            return look_refusal(error, "the VM or its snapshot")
        preflight = Preflight(machine.state, machine.is_locked, snapshot)
        decision = decide_again(
            self.ledger, self.policy, self.slot, preflight, self.checked,
            self.clock.now(), force=self.force,
        )  # fmt: skip
        log.info("decision_again", vm=vm, slot=self.slot, decision=decision.action.value,
                 reason=decision.reason.value, detail=decision.detail)  # fmt: skip
        if decision.creates:
            return Proceed(snapshot)
        if decision.action is Step.DEFER:
            return NotYet(decision.detail)
        return Refusal(Result.SKIPPED, decision.reason, decision.detail, snapshot)


def decide_again(
    ledger: Ledger,
    policy: VirtualMachinePolicy,
    slot: datetime | None,
    preflight: Preflight,
    checked: Facts,
    now: datetime,
    *,
    force: bool,
) -> Decision:
    """The decision on ``preflight`` and the ledger as they are ``now``, with the check
    results of ``checked``."""
    fresh = collect_facts(ledger, policy, slot, preflight, now, force=force)
    return decide(carry_checks(fresh, checked), guards_of(policy))


@dataclass
class OperationRecheck:
    """An operator's restore or delete, asked again: the snapshot must still be the one
    the operator confirmed; while the VM's actions are locked, look again later.

    Holds do not stop an operator's own operation (a restore sets one itself), nor does
    the VM's state: the operator asked for this VM as it is.
    """

    client: HostingerClient
    observer: OutcomeObserver
    virtual_machine_id: int
    expected: SnapshotState | None

    def __call__(self) -> Proceed | NotYet | Refusal:
        vm = self.virtual_machine_id
        try:
            machine = self.client.get_virtual_machine(vm)
            snapshot = read_snapshot(self.client, self.observer, vm)
        except ApiError as error:
            return look_refusal(error, "the VM or its snapshot")
        if snapshot != self.expected:
            detail = "the snapshot changed while the VM was busy; nothing more was sent"
            return Refusal(Result.FAILED, OutcomeReason.SNAPSHOT_CHANGED, detail, snapshot)
        if machine.is_locked:
            return NotYet("another action runs on the VM")
        return Proceed(snapshot)


class IntentRecheck:
    """A kind's re-check, behind the intent's own: the VM's pending row must still be this
    intent (no other writer took the VM over), and a re-send over a different snapshot
    first records that snapshot in the intent, so that verifying never takes the snapshot
    someone else made meanwhile for this attempt's."""

    def __init__(self, ledger: Ledger, intent: PendingAction, recheck: Recheck) -> None:
        self.ledger = ledger
        self.intent = intent
        self.recheck = recheck

    def __call__(self) -> Proceed | NotYet | Refusal:
        vm = self.intent.virtual_machine_id
        if not _same_intent(self.ledger.pending_for(vm), self.intent):
            detail = "another writer replaced this attempt's intent; nothing more was sent"
            return Refusal(Result.SKIPPED, Reason.OPERATION_IN_PROGRESS, detail, settles=False)
        answer = self.recheck()
        if isinstance(answer, Proceed):
            snapshot = answer.snapshot
            old = (snapshot.id, snapshot.created_at) if snapshot else (None, None)
            if old != (self.intent.old_snapshot_id, self.intent.old_snapshot_created_at):
                self.intent = replace(
                    self.intent, old_snapshot_id=old[0], old_snapshot_created_at=old[1]
                )
                self.ledger.add_pending(self.intent)
        return answer


def _same_intent(current: PendingAction | None, intent: PendingAction) -> bool:
    if current is None or current.action_id is not None:
        return False
    return (current.kind, current.slot, current.started_at) == (
        intent.kind,
        intent.slot,
        intent.started_at,
    )
