"""Operator actions on a VM's snapshot: restore it, delete it. Scheduled creates live in engine.

Both hold the VM's lock (one operation in flight per VM), check that the snapshot is still
the one the operator confirmed, and then take the same path as a scheduled create
(:class:`~snapd.pipeline.attempt.AttemptRunner`): intent before the send, never sent twice,
resolved by observation when the answer is lost, a ledger row whatever the end. A request
refused as busy is sent again only while the snapshot is still the confirmed one.

A restore puts the VM on hold for ``hold_after_restore`` *before* it is sent, so that no
slot overwrites the snapshot the VM is being restored from, even when the restore is
slow, times out or is interrupted.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.hostinger import ApiError, HostingerClient
from snapd.ledger import Hold, Ledger, OperationKind
from snapd.ledger.locks import VirtualMachineLocks
from snapd.pipeline.attempt import AttemptRunner
from snapd.pipeline.attempt_terms import AttemptContext
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import (
    AnyReason,
    NullOutcomeObserver,
    Outcome,
    OutcomeObserver,
    OutcomeReason,
    Result,
    SnapshotState,
    failure_reason,
    snapshot_state,
)
from snapd.pipeline.recheck import OperationRecheck
from snapd.pipeline.wait import PollSettings

log = structlog.get_logger("snapd.operations")


class Operations:
    """Restore and delete, with the same guarantees as the scheduled pipeline."""

    def __init__(
        self,
        client: HostingerClient,
        ledger: Ledger,
        locks: VirtualMachineLocks,
        clock: Clock,
        *,
        poll: PollSettings | None = None,
        observer: OutcomeObserver | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.locks = locks
        self.clock = clock
        self.observer = observer or NullOutcomeObserver()
        self.attempts = AttemptRunner(
            client,
            ledger,
            clock,
            self.observer,
            poll=poll or PollSettings(),
            should_stop=should_stop,
        )

    def current_snapshot(self, virtual_machine_id: int) -> SnapshotState | None:
        """The snapshot an operation would act on (shown to the operator before asking)."""
        return snapshot_state(self.client.get_snapshot(virtual_machine_id))

    def restore(self, policy: VirtualMachinePolicy, snapshot: SnapshotState) -> Outcome:
        """Restore the VM from ``snapshot`` (the one the operator confirmed); hold it first."""
        return self._run(policy, OperationKind.RESTORE, snapshot)

    def delete(self, policy: VirtualMachinePolicy, snapshot: SnapshotState) -> Outcome:
        """Delete the VM's snapshot (the one the operator confirmed)."""
        return self._run(policy, OperationKind.DELETE, snapshot)

    def _run(
        self, policy: VirtualMachinePolicy, kind: OperationKind, expected: SnapshotState
    ) -> Outcome:
        started = self.clock.now()
        context = AttemptContext(policy, kind, None, started)
        with self.locks.hold(policy.id, kind, started):
            pending = self.ledger.pending_for(policy.id)
            if pending is not None:
                return self._refuse(
                    context, expected, Reason.OPERATION_IN_PROGRESS,
                    f"an earlier {pending.kind} is still unresolved (`snapd once` resolves it); "
                    "nothing was sent",
                )  # fmt: skip
            try:
                current = self.current_snapshot(policy.id)
            except ApiError as error:
                detail = f"the snapshot could not be read; nothing was sent: {error}"
                reason = failure_reason(error)
                return self._refuse(context, expected, reason, detail, error.correlation_id)
            if current != expected:
                return self._refuse(
                    context, expected, OutcomeReason.SNAPSHOT_CHANGED,
                    "the snapshot changed since it was shown; nothing was sent",
                )  # fmt: skip
            if kind == OperationKind.RESTORE:
                self._hold_for_restore(policy)
            # A busy VM is looked at again before each re-send: still this snapshot?
            recheck = OperationRecheck(self.client, self.observer, policy.id, expected)
            return self.attempts.start(context, expected, recheck)

    def _hold_for_restore(self, policy: VirtualMachinePolicy) -> None:
        if policy.hold_after_restore.total_seconds() <= 0:
            return
        now = self.clock.now()
        until = now + policy.hold_after_restore
        self.ledger.set_hold(Hold(policy.id, until, "restored from snapshot", now))
        log.info("hold_set_for_restore", vm=policy.id, until=until)

    def _refuse(
        self,
        context: AttemptContext,
        expected: SnapshotState,
        reason: AnyReason,
        detail: str,
        correlation_id: str | None = None,
    ) -> Outcome:
        return self.attempts.recorder.finish(
            context.policy, context.kind, None, context.started, Result.FAILED, reason, detail,
            old=expected, correlation_id=correlation_id,
        )  # fmt: skip
