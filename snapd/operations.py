"""Operator actions on a VM's snapshot: restore it, delete it. Scheduled creates live in engine.

Both hold the VM's lock (one operation in flight per VM), send once through
``creating.send_once``, wait for the action and record the result in the ledger. A
restore puts the VM on hold for ``hold_after_restore`` so that the next slot does not
overwrite the snapshot the VM was just restored from before anyone looked at it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.creating import SendFailed, send_once
from snapd.hostinger import HostingerClient
from snapd.ledger import Hold, Ledger
from snapd.locks import VirtualMachineLocks
from snapd.outcome import NullOutcomeObserver, Outcome, OutcomeObserver, Result, SnapshotState
from snapd.recording import Recorder
from snapd.verifying import WAIT_VERDICTS
from snapd.waiting import PollSettings, snapshot_state, wait_for_action

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
        self.recorder = Recorder(ledger, clock, observer or NullOutcomeObserver())
        self.ledger = ledger
        self.locks = locks
        self.clock = clock
        self.poll = poll or PollSettings()
        self.should_stop = should_stop

    def current_snapshot(self, virtual_machine_id: int) -> SnapshotState | None:
        """The snapshot an operation would act on (shown to the operator before asking)."""
        return snapshot_state(self.client.get_snapshot(virtual_machine_id))

    def restore(self, policy: VirtualMachinePolicy, snapshot: SnapshotState) -> Outcome:
        """Restore the VM from ``snapshot`` (the one the operator confirmed); hold afterwards."""
        outcome = self._run(policy, "restore", snapshot)
        if outcome.result is Result.SUCCESS and policy.hold_after_restore.total_seconds() > 0:
            now = self.clock.now()
            until = now + policy.hold_after_restore
            self.ledger.set_hold(Hold(policy.id, until, "restored from snapshot", now))
            log.info("hold_set_after_restore", vm=policy.id, until=until)
        return outcome

    def delete(self, policy: VirtualMachinePolicy, snapshot: SnapshotState) -> Outcome:
        """Delete the VM's snapshot (the one the operator confirmed)."""
        return self._run(policy, "delete", snapshot)

    def _run(self, policy: VirtualMachinePolicy, kind: str, expected: SnapshotState) -> Outcome:
        started = self.clock.now()
        with self.locks.hold(policy.id, kind, started):
            current = self.current_snapshot(policy.id)
            if current != expected:
                return self._record(
                    policy, kind, started, Result.FAILED, "snapshot_changed",
                    "the snapshot changed since it was shown; nothing was sent", expected, None,
                )  # fmt: skip
            try:
                sent = send_once(
                    self.client, self.clock, policy.id, kind, started,
                    started + policy.busy_timeout, self.should_stop,
                )  # fmt: skip
            except SendFailed as error:
                return self._record(
                    policy, kind, started, Result.FAILED, error.reason, error.detail, expected,
                    None, correlation_id=error.correlation_id,
                )  # fmt: skip
            waited = wait_for_action(
                self.client, self.clock, policy.id, sent.action.id,
                started + policy.action_timeout, settings=self.poll, previous_seconds=None,
                should_stop=self.should_stop,
            )  # fmt: skip
            result, _ = WAIT_VERDICTS.get(waited.state, (Result.FAILED, waited.state))
            after = snapshot_state(self.client.get_snapshot(policy.id))
            if kind == "delete" and result is Result.SUCCESS and after is not None:
                result = Result.UNVERIFIED
            return self._record(
                policy, kind, started, result, waited.state, waited.detail, expected, after,
                action_id=sent.action.id,
            )  # fmt: skip

    def _record(
        self,
        policy: VirtualMachinePolicy,
        kind: str,
        started: datetime,
        result: Result,
        reason: str,
        detail: str,
        old: SnapshotState | None,
        new: SnapshotState | None,
        **details: Any,
    ) -> Outcome:
        return self.recorder.finish(
            policy, kind, None, started, result, reason, detail, old=old, new=new, **details
        )
