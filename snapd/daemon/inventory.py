"""The periodic inventory: every VM's restore points, read again between slots.

Between two slots the exported snapshot series would otherwise only change when snapd
itself acts, so a snapshot taken or deleted by hand, or one that expired, would stay
invisible until the next slot. A pass lists the account's VMs in one request, then reads
each listed VM's snapshot, and the Hostinger backups of a few VMs in turn (backups are
weekly: every VM's come round once in ``BACKUP_ROTATION_PASSES`` passes). It paces itself
so that it never takes more than a tenth of the request budget, and the interval between
passes follows from the fleet size and ``requests_per_minute`` (the daemon's
``--inventory-interval`` overrides it); the figures are in
:mod:`snapd.daemon.inventory_pacing`.

The first pass is the daemon's start-up look at the fleet: it may use half the budget
(``STARTUP_BUDGET_SHARE``), so that due slots are never starved by it, and hands each
snapshot it reads to the start-up hook (catch-up of a missed slot). Until a pass has
listed the VMs, the next one is the start-up look again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from snapd.clock import Clock, SystemClock
from snapd.config import VirtualMachinePolicy
from snapd.daemon.inventory_pacing import (
    backups_per_pass,
)
from snapd.hostinger import ApiError, AuthenticationError, HostingerClient, VirtualMachine
from snapd.pipeline.outcome import SnapshotState, snapshot_state

log = structlog.get_logger("snapd.daemon")


class SnapshotListener(Protocol):
    """Who hears what a pass found (the daemon's observer: metrics and expiry refresh)."""

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None: ...

    def consider_refresh(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None: ...

    def outcome_count(self, virtual_machine_id: int) -> int:
        """How many outcomes the VM had so far (a read overlapping one is dropped)."""
        ...

    def token_refused(self, error: ApiError, account: str = "") -> None:
        """The API refused ``account``'s token (one report for its fleet, not one per VM)."""
        ...


class BackupListener(Protocol):
    def set_backup_newest(self, virtual_machine_id: int, moment: datetime | None) -> None: ...


class StartupHook(Protocol):
    """Hears the start-up look at each policy VM the account lists.

    ``known`` is False when the snapshot could not be read (``snapshot`` is then None).
    Returns True when it scheduled a run (which makes an expiry refresh needless).
    """

    def __call__(
        self, policy: VirtualMachinePolicy, snapshot: SnapshotState | None, known: bool
    ) -> bool: ...


class MachineListener(Protocol):
    """Hears the account's VM list of each pass (what ``status`` shows as STATE)."""

    def machines_listed(self, machines: Sequence[VirtualMachine], account: str = "") -> None: ...


@dataclass
class PassSummary:
    """What one pass looked at; ``missing`` are policy VMs the account does not list."""

    read: int = 0
    failed: int = 0
    missing: int = 0


class FleetInventory:
    """Reads every policy VM's snapshot, and a few VMs' backups, pacing its requests.

    Args:
        client: the daemon's API client (so the shared budget applies as well).
        listener: receives each snapshot read (and may schedule an expiry refresh).
        backups: receives the newest backup time of each VM.
        policies: returns the current policies (a reload may change them between passes).
        stop: set when the daemon stops; a pass then ends at once.
        spacing: seconds to wait between two requests.
        startup: called for each VM in the start-up look (the first pass that lists).
        startup_spacing: the spacing of the start-up look (default ``spacing``).
        machines: receives the account's VM list of each pass.
        clock: what the spacing waits on (default: the real clock).
        account: the name of the account ``client`` talks to ("": the policy's only one).
    """

    def __init__(  # noqa: PLR0913 - collaborators, each named
        self,
        client: HostingerClient,
        listener: SnapshotListener,
        backups: BackupListener,
        policies: Callable[[], Iterable[VirtualMachinePolicy]],
        stop: threading.Event,
        spacing: float,
        *,
        startup: StartupHook | None = None,
        startup_spacing: float | None = None,
        machines: MachineListener | None = None,
        clock: Clock | None = None,
        account: str = "",
    ) -> None:
        self.client = client
        self.account = account
        self.clock = clock or SystemClock()
        self.listener = listener
        self.backups = backups
        self.policies = policies
        self.stop = stop
        self.spacing = spacing
        self.startup = startup
        self.startup_spacing = spacing if startup_spacing is None else startup_spacing
        self.machines = machines
        self._looked = startup is None  # the start-up look is still to come
        self._backup_cursor = 0

    def __call__(self) -> None:
        """A scheduler job: one pass."""
        self.run_pass()

    def run_pass(self) -> PassSummary:
        """One pass over the fleet; API errors are logged and counted, never raised."""
        summary = PassSummary()
        try:
            machines = self.client.list_virtual_machines()
        except AuthenticationError as error:
            self.listener.token_refused(error, self.account)
            summary.failed += 1
            return summary
        except ApiError as error:
            log.warning("inventory_failed", error=str(error))
            summary.failed += 1
            return summary
        if self.machines is not None:
            self.machines.machines_listed(machines, self.account)
        listed = {machine.id for machine in machines}
        startup, self._looked = not self._looked, True
        spacing = self.startup_spacing if startup else self.spacing
        policies = list(self.policies())
        backups = self._backup_turn(policies)
        for policy in policies:
            if policy.id not in listed:
                # Gone from the account, and its snapshot with it.
                log.warning("inventory_vm_missing", vm=policy.id)
                self.listener.snapshot_seen(policy.id, None)
                summary.missing += 1
                continue
            if not self._pause(spacing):
                break
            if not self._read_snapshot(policy, summary, startup):
                break
            if policy.id in backups:
                if not self._pause(spacing):
                    break
                self._read_backups(policy.id, summary)
        log.info("inventory_done", startup=startup, **vars(summary))
        return summary

    def _backup_turn(self, policies: list[VirtualMachinePolicy]) -> set[int]:
        """The VMs whose backups this pass reads; the next pass goes on from there."""
        if not policies:
            return set()
        count = backups_per_pass(len(policies))
        start = self._backup_cursor % len(policies)
        self._backup_cursor = start + count
        turn = policies[start : start + count]
        turn += policies[: max(0, start + count - len(policies))]
        return {policy.id for policy in turn}

    def _pause(self, spacing: float) -> bool:
        """Wait ``spacing``; False when the daemon is stopping."""
        return not self.clock.wait(self.stop, spacing) if spacing > 0 else not self.stop.is_set()

    def _read_snapshot(
        self, policy: VirtualMachinePolicy, summary: PassSummary, startup: bool
    ) -> bool:
        """Read and report one VM's snapshot; False when the pass should end here."""
        virtual_machine_id = policy.id
        outcomes_before = self.listener.outcome_count(virtual_machine_id)
        try:
            snapshot = snapshot_state(self.client.get_snapshot(virtual_machine_id))
        except AuthenticationError as error:
            # Every further read would be refused alike; the next pass tries again (and is
            # the start-up look again, when this one was).
            self.listener.token_refused(error, self.account)
            summary.failed += 1
            self._looked = self._looked and not startup
            return False
        except ApiError as error:
            log.warning("inventory_snapshot_failed", vm=virtual_machine_id, error=str(error))
            summary.failed += 1
            if startup and self.startup is not None:
                self.startup(policy, None, False)
            return True
        summary.read += 1
        if self.listener.outcome_count(virtual_machine_id) != outcomes_before:
            # A run finished while the answer was on its way: what it reported is newer.
            return True
        self.listener.snapshot_seen(virtual_machine_id, snapshot)
        if startup and self.startup is not None and self.startup(policy, snapshot, True):
            return True  # the run about to start replaces the snapshot anyway
        self.listener.consider_refresh(virtual_machine_id, snapshot)
        return True

    def _read_backups(self, virtual_machine_id: int, summary: PassSummary) -> None:
        try:
            backups = self.client.list_backups(virtual_machine_id)
        except ApiError as error:
            log.warning("backups_check_failed", vm=virtual_machine_id, error=str(error))
            summary.failed += 1
            return
        times = [backup.created_at for backup in backups if backup.created_at is not None]
        self.backups.set_backup_newest(virtual_machine_id, max(times) if times else None)
