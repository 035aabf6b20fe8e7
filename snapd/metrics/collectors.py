"""Every Prometheus metric snapd exports, fed by outcomes, API attempts and the daemon.

The names, labels and meanings are the metrics contract in the design notes. Label values
are bounded: VM ids, enum values and path templates only; anything outside the known sets
is exported as ``other`` so that a bug elsewhere cannot explode the number of series.
Times are exported as Unix timestamps, never as ages.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from snapd import __version__
from snapd.hostinger.endpoints import ENDPOINTS
from snapd.hostinger.observer import RETRY_REASONS
from snapd.metrics.ledger import LedgerMetrics
from snapd.metrics.series import VirtualMachineTable
from snapd.metrics.state import StateMetrics
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import ATTEMPT_RESULTS, Outcome, Result, SnapshotState, StateOperation

__all__ = ["API_DURATION_BUCKETS", "SKIP_REASONS", "SNAPSHOT_DURATION_BUCKETS", "Metrics"]

# A ``_created`` series per counter and histogram doubles their series and says nothing a
# restart does not; prometheus_client's switch is process-wide and read when samples are
# collected, so it is set here, before any snapd metric exists.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: A snapshot takes minutes; action_timeout defaults to 30 minutes, so the top is 1 h.
SNAPSHOT_DURATION_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0)
#: One HTTP attempt; the client's timeout is 30 s by default.
API_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: The reasons a decision can skip a slot with. ``create`` is not a skip and a dry run is
#: not one.
SKIP_REASONS = tuple(
    reason.value for reason in Reason if reason not in (Reason.CREATE, Reason.DRY_RUN)
)
_KNOWN_SKIP_REASONS = frozenset(reason.value for reason in Reason)
_KNOWN_ENDPOINTS = frozenset(ENDPOINTS.values())
_OTHER = "other"


def _timestamp(moment: datetime) -> float:
    """Unix seconds; a naive datetime is taken as UTC (snapd's clocks are all UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _notification_counter(registry: CollectorRegistry) -> Counter:
    """Notifications by kind and result, every pair created at 0."""
    counter = Counter(
        "snapd_notifications_total",
        "Notifications by kind (ping, webhook) and result (sent, failed, dropped).",
        ["kind", "result"],
        registry=registry,
    )
    for kind in ("ping", "webhook"):
        for result in ("sent", "failed", "dropped"):
            counter.labels(kind, result)
    return counter


class Metrics:
    """The metrics of one daemon, in their own registry.

    Implements ``OutcomeObserver`` (outcomes, snapshots seen, a refused token) and the
    client's ``ApiObserver`` (one call per HTTP attempt and per retry). All methods are
    thread-safe and quick; they never raise for odd input.

    Per-VM series live in one ``VirtualMachineTable`` (fast to scrape at fleet size);
    counters per result or reason appear with their first count, never pre-created.

    Args:
        registry: where the metrics are registered; a new ``CollectorRegistry`` when None
            (the process-wide default registry is never used, so tests stay independent).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._lock = threading.Lock()
        self._last_successes: dict[int, float] = {}
        self._authentication_ok = True

        registry = self.registry
        self.table = table = VirtualMachineTable()
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
        self.next_run = table.gauge("snapd_next_run_timestamp_seconds", "The next scheduled slot.")
        self.backup_newest = table.gauge(
            "snapd_backup_newest_timestamp_seconds", "created_at of the newest Hostinger backup."
        )
        self.hold = table.gauge("snapd_hold_active", "1 while an operator hold is active.")
        self.rpo = table.gauge(
            "snapd_policy_rpo_seconds",
            "The oldest the restore point may be: longest slot gap + jitter + action_timeout.",
        )
        registry.register(table)
        self.duration = Histogram(
            "snapd_snapshot_duration_seconds",
            "Seconds from the start of a successful slot to its verified snapshot (all VMs).",
            buckets=SNAPSHOT_DURATION_BUCKETS,
            registry=registry,
        )
        self.api_requests = Counter(
            "snapd_api_requests_total",
            "HTTP attempts to the Hostinger API; code is the status or 'error'.",
            ["method", "endpoint", "code"],
            registry=registry,
        )
        self.api_duration = Histogram(
            "snapd_api_request_duration_seconds",
            "Seconds per HTTP attempt to the Hostinger API.",
            ["endpoint"],
            buckets=API_DURATION_BUCKETS,
            registry=registry,
        )
        self.api_retries = Counter(
            "snapd_api_retries_total",
            "Transport retries of Hostinger API requests.",
            ["endpoint", "reason"],
            registry=registry,
        )
        self.authentication = Gauge(
            "snapd_api_authentication_ok",
            "0 after the API refused the token, until a request succeeds again.",
            registry=registry,
        )
        self.authentication.set(1)
        self.api_budget_rate = Gauge(
            "snapd_api_budget_requests_per_minute",
            "The rate the request budget paces to now: api.requests_per_minute until a 429 "
            "lowers it, then recovering towards it.",
            registry=registry,
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
        self.notifications = _notification_counter(registry)
        build = Gauge(
            "snapd_build_info",
            "Always 1; the labels say which build.",
            ["version"],
            registry=registry,
        )
        build.labels(__version__).set(1)
        self.ledger = LedgerMetrics(registry)  # snapd_leader, snapd_ledger_errors_total, ...
        self.state = StateMetrics(registry)  # snapd_state_errors_total

    # -- the VM set ---------------------------------------------------------------------

    def register_vms(self, virtual_machine_ids: Iterable[int]) -> None:
        """Export an inactive hold for each VM that has no hold series yet.

        Counters are not pre-created: a VM's count of a result or reason appears with its
        first increment (the alerts see a new series as an increase). Series without a
        meaningful zero (timestamps) stay absent until a value is known. Calling it again
        is harmless.
        """
        for virtual_machine_id in virtual_machine_ids:
            self.hold.set_default(virtual_machine_id, 0)

    def forget_vms(self, keep: set[int]) -> None:
        """Remove every per-VM series whose VM is not in ``keep`` (a reload dropped it)."""
        self.table.forget(keep)
        with self._lock:
            for virtual_machine_id in [vm for vm in self._last_successes if vm not in keep]:
                del self._last_successes[virtual_machine_id]

    # -- OutcomeObserver ----------------------------------------------------------------

    def outcome(self, outcome: Outcome) -> None:
        """Count one finished pipeline run.

        Only ``snapshot`` outcomes are counted: restore and delete are not snapshot
        attempts, but their read-back updates the VM's snapshot series. Dry runs change
        nothing, since a rehearsal is neither an attempt nor a skip. Every result in
        ``ATTEMPT_RESULTS`` counts as an attempt, including a failure before anything was
        sent (pre-flight, refused token, busy timeout): the slot failed to protect the VM.
        ``INTERRUPTED`` is not counted; the pending action is resumed and counted then.
        A success also sets the last-success timestamp (the later one wins), observes the
        duration and takes the new snapshot's timestamps.
        """
        vm = outcome.virtual_machine_id
        if outcome.dry_run:
            return
        if outcome.kind != "snapshot":
            if outcome.action_id is not None:
                self.snapshot_seen(vm, outcome.new_snapshot)
            return
        if outcome.result in ATTEMPT_RESULTS:
            self.attempts.inc(vm, outcome.result.value)
        elif outcome.result is Result.SKIPPED:
            reason = outcome.reason if outcome.reason in _KNOWN_SKIP_REASONS else _OTHER
            self.skips.inc(vm, reason)
        if outcome.result is Result.SUCCESS:
            self._set_last_success(vm, _timestamp(outcome.finished_at))
            seconds = max(outcome.seconds, 0.0)
            self.duration.observe(seconds)
            self.last_duration.set(vm, seconds)
            if outcome.new_snapshot is not None:
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
                metric.set(vm, _timestamp(moment))

    def api_unauthorized(self) -> None:
        """The API refused the token."""
        self._set_authentication(False)

    def state_error(self, operation: StateOperation) -> None:
        """A write to snapd's state failed; an outcome's row is also a ledger error."""
        self.state.error(operation)
        if operation is StateOperation.RECORD:
            self.ledger.error()

    # -- ApiObserver --------------------------------------------------------------------

    def request_finished(self, method: str, endpoint: str, code: str, seconds: float) -> None:
        """Count one HTTP attempt; a 2xx proves the token works, a 401 that it does not."""
        endpoint = endpoint if endpoint in _KNOWN_ENDPOINTS else _OTHER
        if not (code == "error" or (len(code) == 3 and code.isdigit())):
            code = _OTHER
        self.api_requests.labels(method.upper(), endpoint, code).inc()
        self.api_duration.labels(endpoint).observe(max(seconds, 0.0))
        if code.startswith("2"):
            self._set_authentication(True)
        elif code == "401":
            self._set_authentication(False)

    def request_retried(self, endpoint: str, reason: str) -> None:
        """Count one transport retry."""
        endpoint = endpoint if endpoint in _KNOWN_ENDPOINTS else _OTHER
        reason = reason if reason in RETRY_REASONS else _OTHER
        self.api_retries.labels(endpoint, reason).inc()

    def budget_changed(self, requests_per_minute: float) -> None:
        """The request budget's learned rate (also set once at start, to the configured one)."""
        self.api_budget_rate.set(max(requests_per_minute, 0.0))

    # -- the daemon ---------------------------------------------------------------------

    def set_next_run(self, virtual_machine_id: int, moment: datetime | None) -> None:
        """The VM's next scheduled slot; None (nothing scheduled) removes the series."""
        if moment is None:
            self.next_run.remove(virtual_machine_id)
        else:
            self.next_run.set(virtual_machine_id, _timestamp(moment))

    def set_hold(self, virtual_machine_id: int, active: bool) -> None:
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
            self.backup_newest.set(virtual_machine_id, _timestamp(moment))

    def notification_finished(self, kind: str, result: str) -> None:
        """Count one notification (the delivery worker's counter)."""
        self.notifications.labels(kind, result).inc()

    def config_reloaded(self, successful: bool, at: datetime) -> None:
        """A configuration load finished; a failed one keeps the last success timestamp."""
        self.reload_successful.set(1 if successful else 0)
        if successful:
            self.reload_success_timestamp.set(_timestamp(at))

    def restore_last_successes(self, last_successes: dict[int, datetime]) -> None:
        """Seed the last-success timestamps from the ledger at start.

        A timestamp never moves backwards: a value already set by an outcome is kept when
        it is newer.
        """
        for virtual_machine_id, moment in last_successes.items():
            self._set_last_success(virtual_machine_id, _timestamp(moment))

    @property
    def authentication_ok(self) -> bool:
        """False from a refused token until the next successful request."""
        with self._lock:
            return self._authentication_ok

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (version 0.0.4).

        The per-VM table renders itself (the bulk of the series, in a few milliseconds at
        a thousand VMs); ``generate_latest`` renders the rest of the registry.
        """
        with self.table.hidden():
            rest = generate_latest(self.registry)
        return rest + self.table.render().encode()

    def _set_last_success(self, virtual_machine_id: int, seconds: float) -> None:
        with self._lock:
            previous = self._last_successes.get(virtual_machine_id)
            if previous is not None and previous >= seconds:
                return
            self._last_successes[virtual_machine_id] = seconds
            self.last_success.set(virtual_machine_id, seconds)

    def _set_authentication(self, ok: bool) -> None:
        with self._lock:
            self._authentication_ok = ok
            self.authentication.set(1 if ok else 0)
