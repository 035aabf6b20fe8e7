"""What the daemon does with each outcome and each snapshot the pipeline sees.

Metrics are updated, notifications handed to the notifier, and a snapshot that would
expire before the VM's next slot gets a refresh scheduled ahead of its expiry, once per
expiry time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from snapd.daemon.scheduler import refresh_time
from snapd.metrics import Metrics
from snapd.pipeline.outcome import Outcome, SnapshotState

if TYPE_CHECKING:
    from snapd.daemon.daemon import Daemon
    from snapd.notify.notifier import Notifier

log = structlog.get_logger("snapd.daemon")


class DaemonObserver:
    """An ``OutcomeObserver`` for the daemon: metrics plus expiry refresh."""

    def __init__(self, metrics: Metrics, daemon: Daemon, notifier: Notifier | None = None) -> None:
        self.metrics = metrics
        self.daemon = daemon
        self.notifier = notifier
        self._refreshed: dict[int, datetime] = {}
        self._outcomes: dict[int, int] = {}
        self._lock = threading.Lock()

    def outcome(self, outcome: Outcome) -> None:
        self.metrics.outcome(outcome)
        with self._lock:
            vm = outcome.virtual_machine_id
            self._outcomes[vm] = self._outcomes.get(vm, 0) + 1
        if self.notifier is not None:
            self.notifier.outcome(outcome)
        held = self._held(outcome.virtual_machine_id)
        if held is not None:
            self.metrics.set_hold(outcome.virtual_machine_id, held)
        # Checked after the run, not during it: a refresh due now would otherwise collide
        # with the run that is about to replace the snapshot anyway.
        current = outcome.new_snapshot if outcome.new_snapshot else outcome.old_snapshot
        self.consider_refresh(outcome.virtual_machine_id, current)

    def outcome_count(self, virtual_machine_id: int) -> int:
        """Outcomes seen for the VM so far (the inventory drops reads that overlap one)."""
        with self._lock:
            return self._outcomes.get(virtual_machine_id, 0)

    def api_unauthorized(self) -> None:
        self.metrics.api_unauthorized()

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.metrics.snapshot_seen(virtual_machine_id, snapshot)
        policy = self.daemon.policy(virtual_machine_id)
        if self.notifier is not None and policy is not None and policy.notify is not None:
            held = self._held(virtual_machine_id)
            self.notifier.snapshot_watched(policy, snapshot, bool(held))

    def _held(self, virtual_machine_id: int) -> bool | None:
        """Whether an operator hold is active; None before the runtime exists."""
        runtime = self.daemon.runtime
        if runtime is None:
            return None
        return runtime.ledger.active_hold(virtual_machine_id, datetime.now(UTC)) is not None

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
