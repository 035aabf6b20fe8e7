"""The daemon's scheduler on the simulation's event queue, for the daemon's own rules.

``RefreshPlanner`` (the expiry refresh between slots), ``CatchUp`` (a missed slot at a
restart) and ``schedule_resumes`` ask a scheduler for a VM's next or last slot and to run
a VM once, soon. Here those runs are events of the simulation's queue; the slots come
from the same triggers (cron, time zone, DST), built once per VM.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from snapd.clock import Clock
from snapd.config import Config
from snapd.config.schedule import StandardCronTrigger, build_trigger, iter_slots, previous_slot
from snapd.daemon.observer import RefreshPlanner
from snapd.daemon.scheduler import RunPurpose

#: Queues a run of a VM (its id) for a slot (None: now) at a moment.
QueueRun = Callable[[int, datetime | None, datetime], None]


class SimulatedScheduler:
    """What the daemon's rules ask of ``SlotScheduler``, on virtual time."""

    def __init__(self, config: Config, clock: Clock, queue: QueueRun) -> None:
        self.config = config
        self.clock = clock
        self.queue = queue
        #: Each VM's policy by id (``Config.vm`` looks through the list: slow for a fleet).
        self.policies = {policy.id: policy for policy in config.vms}
        self._triggers: dict[int, StandardCronTrigger] = {}

    def trigger(self, virtual_machine_id: int) -> StandardCronTrigger:
        """The VM's un-jittered trigger (built on first use)."""
        trigger = self._triggers.get(virtual_machine_id)
        if trigger is None:
            policy = self.policies[virtual_machine_id]
            trigger = build_trigger(policy.schedule, policy.timezone)
            self._triggers[virtual_machine_id] = trigger
        return trigger

    def next_slot(self, virtual_machine_id: int) -> datetime | None:
        """The VM's next un-jittered slot after now, as ``SlotScheduler.next_slot``."""
        return next(iter(iter_slots(self.trigger(virtual_machine_id), self.clock.now())), None)

    def last_slot(self, virtual_machine_id: int, window: timedelta) -> datetime | None:
        """The VM's latest slot within ``window`` before now, as ``SlotScheduler.last_slot``."""
        return previous_slot(self.trigger(virtual_machine_id), self.clock.now(), window)

    def run_soon(
        self,
        virtual_machine_id: int,
        slot: datetime | None,
        purpose: RunPurpose,
        at: datetime | None = None,
    ) -> None:
        """Queue the run at ``at`` (default: now)."""
        self.queue(virtual_machine_id, slot, at or self.clock.now())


def refresh_planner(scheduler: SimulatedScheduler) -> RefreshPlanner:
    """The daemon's planner, queueing its refreshes on ``scheduler``."""
    return RefreshPlanner(scheduler.policies.get, scheduler, scheduler.clock)
