"""Looking at the fleet outside its slots: once at start, and Hostinger's backups hourly.

The start-up look reads every VM's snapshot once, so that its age is exported from the
first scrape on, a missed slot is caught up only when the snapshot is older than it, and
an expiry that comes before the next slot gets its refresh.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

import structlog

from snapd.config import VirtualMachinePolicy
from snapd.daemon_observer import DaemonObserver
from snapd.hostinger import ApiError, HostingerClient
from snapd.ledger import Ledger
from snapd.metrics import Metrics
from snapd.outcome import snapshot_state

log = structlog.get_logger("snapd.daemon")


def catch_up_needed(
    client: HostingerClient,
    ledger: Ledger,
    observer: DaemonObserver,
    policy: VirtualMachinePolicy,
    slot: datetime | None,
) -> bool:
    """The start-up look at a VM: True when its most recent slot was missed."""
    try:
        found = client.get_snapshot(policy.id)
    except ApiError as error:
        log.warning("catch_up_check_failed", vm=policy.id, error=str(error))
        return slot is not None  # the pipeline's own pre-flight decides with fresh facts
    snapshot = snapshot_state(found)
    observer.snapshot_seen(policy.id, snapshot)
    if slot is None or ledger.slot_succeeded(policy.id, slot):
        observer.consider_refresh(policy.id, snapshot)
        return False
    if snapshot is not None and snapshot.created_at is not None and snapshot.created_at >= slot:
        log.info("catch_up_not_needed", vm=policy.id, slot=slot)
        observer.consider_refresh(policy.id, snapshot)
        return False
    return True


def check_backups(
    client: HostingerClient,
    metrics: Metrics,
    policies: Iterable[VirtualMachinePolicy],
    stop: threading.Event,
) -> None:
    """Export the age of Hostinger's own weekly backups, the other restore points."""
    for policy in list(policies):
        if stop.is_set():
            return
        try:
            backups = client.list_backups(policy.id)
        except ApiError as error:
            log.warning("backups_check_failed", vm=policy.id, error=str(error))
            continue
        times = [backup.created_at for backup in backups if backup.created_at is not None]
        metrics.set_backup_newest(policy.id, max(times) if times else None)
