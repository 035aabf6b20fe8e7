"""Catching up on a missed slot, decided during the start-up look at the fleet.

The start-up look (the inventory's first pass) reads every VM's snapshot once, so that
its age is exported early, a missed slot is caught up only when the snapshot is older than
it, and an expiry that comes before the next slot gets its refresh. The decision uses the
snapshot that pass read: no VM is read twice for it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from snapd.config import VirtualMachinePolicy
from snapd.daemon.scheduler import RunPurpose, RunsSoon
from snapd.ledger import Ledger
from snapd.pipeline.outcome import SnapshotState

log = structlog.get_logger("snapd.daemon")


class CatchUpScheduler(RunsSoon, Protocol):
    """What a catch-up needs of a scheduler (``SlotScheduler``, or a simulation's)."""

    def last_slot(self, virtual_machine_id: int, window: timedelta) -> datetime | None: ...


class CatchUp:
    """The inventory's start-up hook: schedule a catch-up run for a VM that missed a slot.

    Args:
        ledger: says whether the slot already succeeded.
        scheduler: knows each VM's latest slot within its ``catch_up`` window and runs it.
        resuming: VMs with a pending action; their resume run covers them.
        since: when the daemon started. A catch-up is owed since then, so it is scheduled
            at that time: the scheduler runs a time already past at once (within its
            misfire grace), however long the look at the fleet took to reach the VM.
    """

    def __init__(
        self,
        ledger: Ledger,
        scheduler: CatchUpScheduler,
        resuming: Collection[int],
        since: datetime,
    ) -> None:
        self.ledger = ledger
        self.scheduler = scheduler
        self.resuming = frozenset(resuming)
        self.since = since

    def __call__(
        self, policy: VirtualMachinePolicy, snapshot: SnapshotState | None, known: bool
    ) -> bool:
        """True when a catch-up run was scheduled.

        An unreadable snapshot (``known`` False) does not block the catch-up: the
        pipeline's own pre-flight decides with fresh facts.
        """
        if policy.id in self.resuming:
            return False
        slot = self.scheduler.last_slot(policy.id, policy.catch_up)
        if slot is None or self.ledger.slot_succeeded(policy.id, slot):
            return False
        created = snapshot.created_at if known and snapshot is not None else None
        if created is not None and created >= slot:
            log.info("catch_up_not_needed", vm=policy.id, slot=slot)
            return False
        log.info("catch_up_scheduled", vm=policy.id, slot=slot)
        self.scheduler.run_soon(policy.id, slot, RunPurpose.CATCH_UP, at=self.since)
        return True
