"""What the daemon does with each outcome and each snapshot the pipeline sees.

Metrics are updated, and a snapshot that would expire before the VM's next slot gets a
refresh scheduled ahead of its expiry, once per expiry time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from snapd.metrics import Metrics
from snapd.outcome import Outcome, SnapshotState
from snapd.scheduler import refresh_time

if TYPE_CHECKING:
    from snapd.daemon import Daemon

log = structlog.get_logger("snapd.daemon")


class DaemonObserver:
    """An ``OutcomeObserver`` for the daemon: metrics plus expiry refresh."""

    def __init__(self, metrics: Metrics, daemon: Daemon) -> None:
        self.metrics = metrics
        self.daemon = daemon
        self._refreshed: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def outcome(self, outcome: Outcome) -> None:
        self.metrics.outcome(outcome)
        runtime = self.daemon.runtime
        if runtime is not None:
            hold = runtime.ledger.active_hold(outcome.virtual_machine_id, datetime.now(UTC))
            self.metrics.set_hold(outcome.virtual_machine_id, hold is not None)
        # Checked after the run, not during it: a refresh due now would otherwise collide
        # with the run that is about to replace the snapshot anyway.
        current = outcome.new_snapshot if outcome.new_snapshot else outcome.old_snapshot
        self.consider_refresh(outcome.virtual_machine_id, current)

    def api_unauthorized(self) -> None:
        self.metrics.api_unauthorized()

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.metrics.snapshot_seen(virtual_machine_id, snapshot)

    def consider_refresh(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        """Schedule a refresh when ``snapshot`` would expire before the VM's next slot."""
        if snapshot is None or snapshot.expires_at is None:
            return
        scheduler = self.daemon.scheduler
        policy = self.daemon.policy(virtual_machine_id)
        if scheduler is None or policy is None:
            return
        with self._lock:
            if self._refreshed.get(virtual_machine_id) == snapshot.expires_at:
                return  # this expiry already has its refresh
            when = refresh_time(
                snapshot.expires_at,
                scheduler.next_slot(virtual_machine_id),
                policy.refresh_before_expiry,
                datetime.now(UTC),
            )
            if when is None:
                return
            self._refreshed[virtual_machine_id] = snapshot.expires_at
        log.info(
            "refresh_scheduled",
            vm=virtual_machine_id,
            at=when,
            expires_at=snapshot.expires_at,
        )
        scheduler.run_soon(virtual_machine_id, when, "refresh", at=when)
