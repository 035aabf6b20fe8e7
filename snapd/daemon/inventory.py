"""The periodic inventory: every VM's restore points, read again between slots.

Between two slots the exported snapshot series would otherwise only change when snapd
itself acts, so a snapshot taken or deleted by hand, or one that expired, would stay
invisible until the next slot. A pass lists the account's VMs in one request, then reads
each listed VM's snapshot and Hostinger backups. It paces itself so that it never takes
more than a tenth of the request budget, and the interval between passes follows from
the fleet size and ``requests_per_minute`` (the daemon's ``--inventory-interval``
overrides it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from snapd.config import Config, VirtualMachinePolicy
from snapd.config.durations import format_duration
from snapd.daemon.scheduler import SlotScheduler
from snapd.hostinger import ApiError, HostingerClient
from snapd.pipeline.outcome import SnapshotState, snapshot_state

log = structlog.get_logger("snapd.daemon")

#: The inventory may use at most 1/BUDGET_SHARE of the request budget.
BUDGET_SHARE = 10
#: Passes closer together than this add requests but no useful freshness for alerts
#: whose shortest ``for`` is minutes.
MINIMUM_INTERVAL = timedelta(minutes=5)


def requests_per_pass(fleet_size: int) -> int:
    """One list of the account's VMs, then a snapshot read and a backups read per VM."""
    return 1 + 2 * fleet_size


def request_spacing(requests_per_minute: int) -> float:
    """Seconds between two inventory requests so that they use a tenth of the budget."""
    return 60.0 * BUDGET_SHARE / requests_per_minute


def inventory_interval(fleet_size: int, requests_per_minute: int) -> timedelta:
    """How often a pass starts: the time a paced pass takes, at least ``MINIMUM_INTERVAL``."""
    seconds = requests_per_pass(fleet_size) * request_spacing(requests_per_minute)
    return max(MINIMUM_INTERVAL, timedelta(seconds=seconds))


class SnapshotListener(Protocol):
    """Who hears what a pass found (the daemon's observer: metrics and expiry refresh)."""

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None: ...

    def consider_refresh(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None: ...

    def outcome_count(self, virtual_machine_id: int) -> int:
        """How many outcomes the VM had so far (a read overlapping one is dropped)."""
        ...


class BackupListener(Protocol):
    def set_backup_newest(self, virtual_machine_id: int, moment: datetime | None) -> None: ...


@dataclass
class PassSummary:
    """What one pass looked at; ``missing`` are policy VMs the account does not list."""

    read: int = 0
    failed: int = 0
    missing: int = 0


class FleetInventory:
    """Reads every policy VM's snapshot and backups, pacing its requests.

    Args:
        client: the daemon's API client (so the shared budget applies as well).
        listener: receives each snapshot read (and may schedule an expiry refresh).
        backups: receives the newest backup time of each VM.
        policies: returns the current policies (a reload may change them between passes).
        stop: set when the daemon stops; a pass then ends at once.
        spacing: seconds to wait between two requests.
    """

    def __init__(
        self,
        client: HostingerClient,
        listener: SnapshotListener,
        backups: BackupListener,
        policies: Callable[[], Iterable[VirtualMachinePolicy]],
        stop: threading.Event,
        spacing: float,
    ) -> None:
        self.client = client
        self.listener = listener
        self.backups = backups
        self.policies = policies
        self.stop = stop
        self.spacing = spacing

    def __call__(self) -> None:
        """A scheduler job: one pass."""
        self.run_pass()

    def run_pass(self) -> PassSummary:
        """One pass over the fleet; API errors are logged and counted, never raised."""
        summary = PassSummary()
        try:
            listed = {machine.id for machine in self.client.list_virtual_machines()}
        except ApiError as error:
            log.warning("inventory_failed", error=str(error))
            summary.failed += 1
            return summary
        for policy in list(self.policies()):
            if policy.id not in listed:
                # Gone from the account, and its snapshot with it.
                log.warning("inventory_vm_missing", vm=policy.id)
                self.listener.snapshot_seen(policy.id, None)
                summary.missing += 1
                continue
            if not self._pause():
                break
            self._read_snapshot(policy.id, summary)
            if not self._pause():
                break
            self._read_backups(policy.id, summary)
        log.info("inventory_done", **vars(summary))
        return summary

    def _pause(self) -> bool:
        """Wait ``spacing``; False when the daemon is stopping."""
        return not self.stop.wait(self.spacing) if self.spacing > 0 else not self.stop.is_set()

    def _read_snapshot(self, virtual_machine_id: int, summary: PassSummary) -> None:
        outcomes_before = self.listener.outcome_count(virtual_machine_id)
        try:
            snapshot = snapshot_state(self.client.get_snapshot(virtual_machine_id))
        except ApiError as error:
            log.warning("inventory_snapshot_failed", vm=virtual_machine_id, error=str(error))
            summary.failed += 1
            return
        summary.read += 1
        if self.listener.outcome_count(virtual_machine_id) != outcomes_before:
            # A run finished while the answer was on its way: what it reported is newer.
            return
        self.listener.snapshot_seen(virtual_machine_id, snapshot)
        self.listener.consider_refresh(virtual_machine_id, snapshot)

    def _read_backups(self, virtual_machine_id: int, summary: PassSummary) -> None:
        try:
            backups = self.client.list_backups(virtual_machine_id)
        except ApiError as error:
            log.warning("backups_check_failed", vm=virtual_machine_id, error=str(error))
            summary.failed += 1
            return
        times = [backup.created_at for backup in backups if backup.created_at is not None]
        self.backups.set_backup_newest(virtual_machine_id, max(times) if times else None)


def schedule_inventory(
    scheduler: SlotScheduler, inventory: FleetInventory, config: Config, every: timedelta | None
) -> timedelta:
    """Run ``inventory`` now and then every ``every`` (default: derived from the fleet)."""
    chosen = every or inventory_interval(len(config.vms), config.api.requests_per_minute)
    log.info("inventory_scheduled", every=format_duration(chosen))
    scheduler.every(chosen, inventory, "inventory")
    return chosen
