"""The fleet metrics: what the daemon knows about each VM beyond a run's outcome.

The next scheduled slot, the newest Hostinger backup, an operator hold and the policy's
recovery point objective (per VM), plus the configuration reloads, the notifications sent
and the build. Each series has one method that writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

from snapd import __version__
from snapd.metrics.series import VirtualMachineTable, timestamp

__all__ = ["FleetMetrics"]


class FleetMetrics:
    """Per-VM daemon series in ``table``, the rest in ``registry``; thread-safe.

    The families are added to ``table`` in the order they are exported; the caller
    registers the table.
    """

    def __init__(self, table: VirtualMachineTable, registry: CollectorRegistry) -> None:
        self.next_run = table.gauge("snapd_next_run_timestamp_seconds", "The next scheduled slot.")
        self.backup_newest = table.gauge(
            "snapd_backup_newest_timestamp_seconds", "created_at of the newest Hostinger backup."
        )
        self.hold = table.gauge("snapd_hold_active", "1 while an operator hold is active.")
        self.rpo = table.gauge(
            "snapd_policy_rpo_seconds",
            "The oldest the restore point may be: longest slot gap + the time zone's DST "
            "shift + jitter + action_timeout.",
        )
        self.reload_successful = Gauge(
            "snapd_config_last_reload_successful",
            "1 when the last configuration load succeeded.",
            registry=registry,
        )
        self.reload_success_timestamp = Gauge(
            "snapd_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully.",
            registry=registry,
        )
        self.notifications = Counter(
            "snapd_notifications_total",
            "Notifications by kind (ping, webhook) and result (sent, failed, dropped).",
            ["kind", "result"],
            registry=registry,
        )
        for kind in ("ping", "webhook"):
            for result in ("sent", "failed", "dropped"):
                self.notifications.labels(kind, result)
        build = Gauge(
            "snapd_build_info",
            "Always 1; the labels say which build.",
            ["version"],
            registry=registry,
        )
        build.labels(__version__).set(1)

    def register_vms(self, virtual_machine_ids: Iterable[int]) -> None:
        """Export an inactive hold for each VM that has no hold series yet."""
        for virtual_machine_id in virtual_machine_ids:
            self.hold.set_default(virtual_machine_id, 0)

    def set_next_run(self, virtual_machine_id: int, moment: datetime | None) -> None:
        """The VM's next scheduled slot; None (nothing scheduled) removes the series."""
        if moment is None:
            self.next_run.remove(virtual_machine_id)
        else:
            self.next_run.set(virtual_machine_id, timestamp(moment))

    def set_hold(self, virtual_machine_id: int, active: bool) -> None:
        """Whether an operator hold on the VM is active."""
        self.hold.set(virtual_machine_id, 1 if active else 0)

    def set_policy_rpo(self, virtual_machine_id: int, seconds: float | None) -> None:
        """The VM's recovery point objective; None (a schedule without slots) removes it."""
        if seconds is None:
            self.rpo.remove(virtual_machine_id)
        else:
            self.rpo.set(virtual_machine_id, seconds)

    def set_backup_newest(self, virtual_machine_id: int, moment: datetime | None) -> None:
        """The newest Hostinger backup of the VM; None (no backup) removes the series."""
        if moment is None:
            self.backup_newest.remove(virtual_machine_id)
        else:
            self.backup_newest.set(virtual_machine_id, timestamp(moment))

    def notification_finished(self, kind: str, result: str) -> None:
        """Count one notification (the delivery worker's counter)."""
        self.notifications.labels(kind, result).inc()

    def config_reloaded(self, successful: bool, at: datetime) -> None:
        """A configuration load finished; a failed one keeps the last success timestamp."""
        self.reload_successful.set(1 if successful else 0)
        if successful:
            self.reload_success_timestamp.set(timestamp(at))
