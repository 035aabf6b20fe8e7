"""The outcome metrics: what the pipeline's runs did to each VM's restore point.

Snapshot attempts and skips, the last success and its duration, and the VM's current
snapshot (present, created, expiry). Each series has one writer: ``outcome`` takes a
finished run and decides every series it touches; ``snapshot_seen`` is the only writer
of the current-snapshot series and ``_set_last_success`` the only one of the last success.
"""

from __future__ import annotations

import threading
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram

from snapd.ledger import OperationKind
from snapd.metrics.series import VirtualMachineTable, timestamp
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import (
    ATTEMPT_RESULTS,
    Outcome,
    OutcomeReason,
    Result,
    SnapshotState,
)

__all__ = ["SKIP_REASONS", "SNAPSHOT_DURATION_BUCKETS", "OutcomeMetrics"]

#: A snapshot takes minutes; action_timeout defaults to 30 minutes, so the top is 1 h.
SNAPSHOT_DURATION_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0)

#: The reasons a decision can skip a slot with. The creates are not skips and a dry run is
#: not one.
SKIP_REASONS = tuple(
    reason.value
    for reason in Reason
    if reason not in (Reason.CREATE, Reason.CREATE_UNHEALTHY, Reason.DRY_RUN)
)
_KNOWN_SKIP_REASONS = frozenset(reason.value for reason in Reason)
_OTHER = "other"


class OutcomeMetrics:
    """The per-VM outcome series in ``table`` and the duration histogram in ``registry``.

    Thread-safe; methods never raise for odd input. The families are added to ``table``
    in the order they are exported; the caller registers the table.
    """

    def __init__(self, table: VirtualMachineTable, registry: CollectorRegistry) -> None:
        self._lock = threading.Lock()
        self._last_successes: dict[int, float] = {}
        self.attempts = table.counter(
            "snapd_snapshot_attempts",
            "Snapshot slots that tried to create a snapshot, by result.",
            "result",
        )
        self.skips = table.counter(
            "snapd_snapshot_skips",
            "Snapshot slots a guard skipped, by the decision's reason.",
            "reason",
        )
        self.unhealthy = table.counter(
            "snapd_snapshot_unhealthy",
            "Verified snapshots taken although the health check failed (the VM had no "
            "restore point to protect).",
            None,
        )
        self.last_duration = table.gauge(
            "snapd_snapshot_last_duration_seconds",
            "Seconds the VM's last successful slot took, from its start to the verified snapshot.",
        )
        self.last_success = table.gauge(
            "snapd_snapshot_last_success_timestamp_seconds",
            "When the last verified snapshot finished.",
        )
        self.created = table.gauge(
            "snapd_snapshot_created_timestamp_seconds", "created_at of the VM's current snapshot."
        )
        self.expiry = table.gauge(
            "snapd_snapshot_expiry_timestamp_seconds", "expires_at of the VM's current snapshot."
        )
        self.present = table.gauge("snapd_snapshot_present", "1 when the VM has a snapshot.")
        self.duration = Histogram(
            "snapd_snapshot_duration_seconds",
            "Seconds from the start of a successful slot to its verified snapshot (all VMs).",
            buckets=SNAPSHOT_DURATION_BUCKETS,
            registry=registry,
        )

    def outcome(self, outcome: Outcome) -> None:
        """Count one finished pipeline run: the one place a run's metrics are written.

        Only ``snapshot`` outcomes are counted: restore and delete are not snapshot
        attempts, but their read-back updates the VM's snapshot series. Dry runs change
        nothing, since a rehearsal is neither an attempt nor a skip. Every result in
        ``ATTEMPT_RESULTS`` counts as an attempt, including a failure before anything was
        sent (pre-flight, refused token, busy timeout): the slot failed to protect the VM.
        ``INTERRUPTED`` is not counted; the pending action is resumed and counted then.
        A success also sets the last-success timestamp (the later one wins), observes the
        duration and takes the new snapshot's timestamps.
        """
        if outcome.dry_run:
            return
        vm = outcome.virtual_machine_id
        if outcome.kind == OperationKind.SNAPSHOT:
            self._count(outcome)
        if self._read_back(outcome):
            self.snapshot_seen(vm, outcome.new_snapshot)

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        """Export the VM's current snapshot; None means the VM has none.

        Without a snapshot (or without a known ``created_at``/``expires_at``) the
        timestamp series are removed rather than set to 0, which would read as 1970.
        """
        vm = virtual_machine_id
        self.present.set(vm, 0 if snapshot is None else 1)
        created = snapshot.created_at if snapshot is not None else None
        expires = snapshot.expires_at if snapshot is not None else None
        for metric, moment in ((self.created, created), (self.expiry, expires)):
            if moment is None:
                metric.remove(vm)
            else:
                metric.set(vm, timestamp(moment))

    def restore_last_successes(self, last_successes: dict[int, datetime]) -> None:
        """Seed the last-success timestamps from the ledger at start.

        A timestamp never moves backwards: a value already set by an outcome is kept when
        it is newer.
        """
        for virtual_machine_id, moment in last_successes.items():
            self._set_last_success(virtual_machine_id, timestamp(moment))

    def forget(self, keep: set[int]) -> None:
        """Forget the remembered last successes of VMs not in ``keep`` (the table drops
        their series)."""
        with self._lock:
            for virtual_machine_id in [vm for vm in self._last_successes if vm not in keep]:
                del self._last_successes[virtual_machine_id]

    @staticmethod
    def _read_back(outcome: Outcome) -> bool:
        """Whether the run read the VM's snapshot back: a restore or delete that sent an
        action, or a successful snapshot that found its new snapshot."""
        if outcome.kind != OperationKind.SNAPSHOT:
            return outcome.action_id is not None
        return outcome.result is Result.SUCCESS and outcome.new_snapshot is not None

    def _count(self, outcome: Outcome) -> None:
        """The attempt or skip counter, and for a success its time and duration."""
        vm = outcome.virtual_machine_id
        if outcome.result in ATTEMPT_RESULTS:
            self.attempts.inc(vm, outcome.result.value)
        elif outcome.result is Result.SKIPPED:
            reason = outcome.reason if outcome.reason in _KNOWN_SKIP_REASONS else _OTHER
            self.skips.inc(vm, reason)
        if outcome.result is Result.SUCCESS:
            if outcome.reason == OutcomeReason.CREATED_UNHEALTHY:
                self.unhealthy.inc(vm)
            self._set_last_success(vm, timestamp(outcome.finished_at))
            seconds = max(outcome.seconds, 0.0)
            self.duration.observe(seconds)
            self.last_duration.set(vm, seconds)

    def _set_last_success(self, virtual_machine_id: int, seconds: float) -> None:
        with self._lock:
            previous = self._last_successes.get(virtual_machine_id)
            if previous is not None and previous >= seconds:
                return
            self._last_successes[virtual_machine_id] = seconds
            self.last_success.set(virtual_machine_id, seconds)
