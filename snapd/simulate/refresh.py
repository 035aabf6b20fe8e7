"""The expiry refresh between slots, by the daemon's own rule (``RefreshPlanner``).

After each run the daemon's planner looks at the VM's snapshot and, when it would
expire before the next slot, asks its scheduler to run the VM once before the expiry.
Here the scheduler is the simulation's event queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from snapd.clock import Clock
from snapd.config import Config
from snapd.config.schedule import build_trigger, iter_slots
from snapd.daemon.observer import RefreshPlanner
from snapd.daemon.scheduler import RunPurpose

#: Queues a refresh run of a VM (its id) at a moment.
QueueRefresh = Callable[[int, datetime], None]


class SimulatedScheduler:
    """The two things ``RefreshPlanner`` asks of a scheduler, on virtual time."""

    def __init__(self, config: Config, clock: Clock, queue: QueueRefresh) -> None:
        self.config = config
        self.clock = clock
        self.queue = queue

    def next_slot(self, virtual_machine_id: int) -> datetime | None:
        """The VM's next un-jittered slot after now, as ``SlotScheduler.next_slot``."""
        policy = self.config.vm(virtual_machine_id)
        trigger = build_trigger(policy.schedule, policy.timezone)
        return next(iter(iter_slots(trigger, self.clock.now())), None)

    def run_soon(
        self,
        virtual_machine_id: int,
        slot: datetime | None,
        purpose: RunPurpose,
        at: datetime | None = None,
    ) -> None:
        """Queue the refresh run at ``at`` (default: now)."""
        self.queue(virtual_machine_id, at or self.clock.now())


def refresh_planner(config: Config, clock: Clock, queue: QueueRefresh) -> RefreshPlanner:
    """The daemon's planner, queueing its refreshes with ``queue``."""
    scheduler = SimulatedScheduler(config, clock, queue)
    return RefreshPlanner(lambda vm: config.vm(vm), scheduler, clock)
