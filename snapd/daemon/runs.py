"""A daemon's slot runs: queued on the workers, their waits on the poller, failures kept in.

A VM counts as running (coalescing, the watchdog, the stop's wait) from the moment its
slot is queued until its outcome is recorded, whichever thread that happens on. A run
may fail; it is logged and counted, and never escapes into the scheduler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from snapd.config import VirtualMachinePolicy
from snapd.daemon.jobs import RunningJobs
from snapd.daemon.leader import TakeoverRetries
from snapd.daemon.scheduler import RunPurpose
from snapd.ledger import LedgerError, NotLeaderError, OperationKind
from snapd.metrics import Metrics
from snapd.notify.notifier import Notifier
from snapd.pipeline.accounts import SlotRunner
from snapd.pipeline.outcome import Outcome, OutcomeReason, Result

log = structlog.get_logger("snapd.daemon")


@dataclass
class SlotRuns:
    """Runs slots for the daemon; ``finished(vm)`` is called after each, however it ended."""

    fleet: SlotRunner
    notifier: Notifier
    metrics: Metrics
    stop_event: threading.Event
    finished: Callable[[int], None]
    dry_run: bool = False
    jobs: RunningJobs = field(default_factory=RunningJobs)
    takeover: TakeoverRetries | None = None  # a new leader's retries (a shared ledger)

    def submit(
        self, policy: VirtualMachinePolicy, slot: datetime | None, purpose: RunPurpose
    ) -> None:
        """Queue ``policy``'s ``slot``, unless a run of the VM is already in progress."""
        vm = policy.id
        number = self.jobs.begin(policy)
        if number is None:
            # This daemon is still busy with the VM (a slot and a catch-up or refresh
            # meeting): the running job covers this one. Not a skip by another holder.
            log.debug("run_coalesced", vm=vm, slot=slot, purpose=purpose)
            return

        def started() -> bool:
            self.jobs.working(number)
            if self.stop_event.is_set():
                return False
            log.info("run_started", vm=vm, slot=slot, purpose=purpose)
            self.notifier.slot_started(policy, slot, self.dry_run)
            return True

        def done(outcome: Outcome | None, error: BaseException | None) -> None:
            try:
                self._report(policy, slot, purpose, outcome, error)
                self.finished(vm)
            finally:
                self.jobs.end(number)

        try:
            self.fleet.submit_slot(policy, slot, done, started=started, dry_run=self.dry_run)
        except RuntimeError:  # stopping: the workers take nothing new
            self.jobs.end(number)

    def _report(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        purpose: RunPurpose,
        outcome: Outcome | None,
        error: BaseException | None,
    ) -> None:
        vm = policy.id
        if isinstance(error, NotLeaderError):
            # Nothing was sent; the next leader resumes or runs the slot.
            log.warning("run_stopped_not_leader", vm=vm, slot=slot)
        elif isinstance(error, LedgerError):
            # Fail closed: without a committed intent nothing was sent.
            self.metrics.ledger.error()
            log.error("ledger_error", vm=vm, slot=slot, error=str(error))
            self._notify_failure(policy, slot, f"nothing was sent: {error}")
        elif error is not None:
            log.error("run_crashed", vm=vm, slot=slot, purpose=purpose, exc_info=error)
        elif outcome is not None and self.takeover is not None:
            self.takeover.after(policy, slot, purpose, outcome)

    def _notify_failure(
        self, policy: VirtualMachinePolicy, slot: datetime | None, detail: str
    ) -> None:
        """The failure notification of a slot that its state (the ledger) ended before it
        had an outcome: the operator hears of it as of any failed slot."""
        now = self.fleet.engine.clock.now()
        self.notifier.outcome(
            Outcome(
                virtual_machine_id=policy.id,
                kind=OperationKind.SNAPSHOT,
                slot=slot,
                result=Result.FAILED,
                reason=OutcomeReason.STATE_ERROR,
                detail=detail,
                started_at=now,
                finished_at=now,
                dry_run=self.dry_run,
            )
        )
