"""A restart of the simulated daemon, by the daemon's own start-up rules.

At its start the daemon resumes every pending action (``schedule_resumes``), then its
inventory's first pass (the start-up look) lists the fleet and reads each VM's snapshot
once, handing it to ``CatchUp``: a VM whose latest slot within ``catch_up`` has no
success and whose snapshot is older than that slot runs once, at once. A VM not caught
up has its expiry considered for a refresh. The same classes run here, with the
simulation's scheduler; the look is not spaced out in time (the request budget paces it).
"""

from __future__ import annotations

import threading

from snapd.config import Config
from snapd.daemon.catch_up import CatchUp
from snapd.daemon.inventory import FleetInventory
from snapd.daemon.observer import RefreshPlanner
from snapd.daemon.startup import schedule_resumes
from snapd.hostinger import ApiError
from snapd.pipeline.outcome import SnapshotState
from snapd.runtime import Runtime
from snapd.simulate.refresh import SimulatedScheduler


class _StartupListener:
    """What the start-up look reports to: the expiry refresh; no metrics to export."""

    def __init__(self, refresh: RefreshPlanner) -> None:
        self.refresh = refresh

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        """Nothing to export in a simulation."""

    def consider_refresh(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.refresh.consider(virtual_machine_id, snapshot)

    def outcome_count(self, virtual_machine_id: int) -> int:
        return 0  # one thread: no run ends while the look reads a snapshot

    def token_refused(self, error: ApiError, account: str = "") -> None:
        """The simulation's token is always accepted."""

    def set_backup_newest(self, virtual_machine_id: int, moment: object) -> None:
        """Nothing to export in a simulation."""


def start_daemon(
    runtime: Runtime, config: Config, scheduler: SimulatedScheduler, refresh: RefreshPlanner
) -> None:
    """The daemon's start: resumes, then the start-up look with its catch-ups, queued on
    ``scheduler`` for now."""
    now = scheduler.clock.now()
    resuming = schedule_resumes(runtime.ledger, scheduler, config.vms)
    listener = _StartupListener(refresh)
    inventory = FleetInventory(
        runtime.client, listener, listener, lambda: config.vms, threading.Event(), 0.0,
        startup=CatchUp(runtime.ledger, scheduler, resuming, now),
        clock=scheduler.clock,
    )  # fmt: skip
    inventory.run_pass()
