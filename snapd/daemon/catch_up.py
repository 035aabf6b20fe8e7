"""Looking at a VM outside its slots: once at start, to catch up or refresh before expiry.

The start-up look reads every VM's snapshot once, so that its age is exported from the
first scrape on, a missed slot is caught up only when the snapshot is older than it, and
an expiry that comes before the next slot gets its refresh.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from snapd.config import VirtualMachinePolicy
from snapd.daemon.observer import DaemonObserver
from snapd.hostinger import ApiError, AuthenticationError, HostingerClient
from snapd.ledger import Ledger
from snapd.pipeline.outcome import snapshot_state

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
    except AuthenticationError as error:
        # Every VM would fail alike: say it once, and run nothing that cannot succeed.
        observer.token_refused(error)
        return False
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
