"""Every Prometheus metric snapd exports, in one registry per daemon.

``Metrics`` composes the groups, each with its own series and the one method that writes
each: ``OutcomeMetrics`` (what runs did to each VM's restore point), ``ApiMetrics`` (HTTP
attempts, retries, the token, the budget), ``FleetMetrics`` (schedule, holds, backups,
reloads, notifications, build), ``LedgerMetrics`` and ``StateMetrics``.

The names, labels and meanings are the metrics contract in the design notes. Label values
are bounded: VM ids, enum values and path templates only; anything outside the known sets
is exported as ``other`` so that a bug elsewhere cannot explode the number of series.
Times are exported as Unix timestamps, never as ages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, disable_created_metrics, generate_latest

from snapd.metrics.api import API_DURATION_BUCKETS, AccountApiObserver, ApiMetrics
from snapd.metrics.fleet import FleetMetrics
from snapd.metrics.ledger import LedgerMetrics
from snapd.metrics.outcomes import SKIP_REASONS, SNAPSHOT_DURATION_BUCKETS, OutcomeMetrics
from snapd.metrics.series import VirtualMachineTable
from snapd.metrics.state import StateMetrics
from snapd.pipeline.outcome import Outcome, SnapshotState, StateOperation

__all__ = ["API_DURATION_BUCKETS", "SKIP_REASONS", "SNAPSHOT_DURATION_BUCKETS", "Metrics"]

# A ``_created`` series per counter and histogram doubles their series and says nothing a
# restart does not; prometheus_client's switch is process-wide and read when samples are
# collected, so it is set here, before any snapd metric exists.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """The metrics of one daemon, in their own registry.

    Implements ``OutcomeObserver`` (outcomes, snapshots seen, a refused token) and the
    client's ``ApiObserver`` (one call per HTTP attempt and per retry) by handing each call
    to the group that owns the series. All methods are thread-safe and quick; they never
    raise for odd input.

    Per-VM series live in one ``VirtualMachineTable`` (fast to scrape at fleet size);
    counters per result or reason appear with their first count, never pre-created.

    Args:
        registry: where the metrics are registered; a new ``CollectorRegistry`` when None
            (the process-wide default registry is never used, so tests stay independent).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.table = VirtualMachineTable()
        # Created in the order they are exported.
        self.outcomes = OutcomeMetrics(self.table, self.registry)
        self.api = ApiMetrics(self.registry)
        self.fleet = FleetMetrics(self.table, self.registry)
        self.registry.register(self.table)
        self.ledger = LedgerMetrics(self.registry)  # snapd_leader, snapd_ledger_errors_total…
        self.state = StateMetrics(self.registry)  # snapd_state_errors_total

    # -- the VM set ---------------------------------------------------------------------

    def register_vms(self, virtual_machine_ids: Iterable[int]) -> None:
        """Export an inactive hold for each VM that has no hold series yet.

        Counters are not pre-created: a VM's count of a result or reason appears with its
        first increment (the alerts see a new series as an increase). Series without a
        meaningful zero (timestamps) stay absent until a value is known. Calling it again
        is harmless.
        """
        self.fleet.register_vms(virtual_machine_ids)

    def set_accounts(self, accounts: dict[int, str]) -> None:
        """Each VM's account (VM id -> name), for the ``account`` label of its series;
        empty for a policy without ``accounts``, whose series carry no such label."""
        self.table.set_accounts(accounts)

    def forget_vms(self, keep: set[int]) -> None:
        """Remove every per-VM series whose VM is not in ``keep`` (a reload dropped it)."""
        self.table.forget(keep)
        self.outcomes.forget(keep)

    # -- OutcomeObserver ----------------------------------------------------------------

    def outcome(self, outcome: Outcome) -> None:
        """Count one finished pipeline run (see ``OutcomeMetrics.outcome``)."""
        self.outcomes.outcome(outcome)

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        """Export the VM's current snapshot; None means the VM has none."""
        self.outcomes.snapshot_seen(virtual_machine_id, snapshot)

    def api_unauthorized(self) -> None:
        """The API refused the token."""
        self.api.set_authentication(False)

    def api_observer_of(self, account: str) -> AccountApiObserver:
        """The API observer of ``account``'s client (its token's state kept apart)."""
        return AccountApiObserver(self.api, account)

    def state_error(self, operation: StateOperation) -> None:
        """A write to snapd's state failed; an outcome's row is also a ledger error."""
        self.state.error(operation)
        if operation is StateOperation.RECORD:
            self.ledger.error()

    # -- ApiObserver --------------------------------------------------------------------

    def request_finished(self, method: str, endpoint: str, code: str, seconds: float) -> None:
        """Count one HTTP attempt; a 2xx proves the token works, a 401 that it does not."""
        self.api.request_finished(method, endpoint, code, seconds)

    def request_retried(self, endpoint: str, reason: str) -> None:
        """Count one transport retry."""
        self.api.request_retried(endpoint, reason)

    def budget_changed(self, requests_per_minute: float) -> None:
        """The request budget's learned rate (also set once at start, to the configured one)."""
        self.api.budget_changed(requests_per_minute)

    @property
    def authentication_ok(self) -> bool:
        """False from a refused token until the next successful request."""
        return self.api.authentication_ok

    # -- the daemon ---------------------------------------------------------------------

    def set_next_run(self, virtual_machine_id: int, moment: datetime | None) -> None:
        """The VM's next scheduled slot; None (nothing scheduled) removes the series."""
        self.fleet.set_next_run(virtual_machine_id, moment)

    def set_hold(self, virtual_machine_id: int, active: bool) -> None:
        """Whether an operator hold on the VM is active."""
        self.fleet.set_hold(virtual_machine_id, active)

    def set_policy_rpo(self, virtual_machine_id: int, seconds: float | None) -> None:
        """The VM's recovery point objective; None (a schedule without slots) removes it."""
        self.fleet.set_policy_rpo(virtual_machine_id, seconds)

    def set_backup_newest(self, virtual_machine_id: int, moment: datetime | None) -> None:
        """The newest Hostinger backup of the VM; None (no backup) removes the series."""
        self.fleet.set_backup_newest(virtual_machine_id, moment)

    def notification_finished(self, kind: str, result: str) -> None:
        """Count one notification (the delivery worker's counter)."""
        self.fleet.notification_finished(kind, result)

    def config_reloaded(self, successful: bool, at: datetime) -> None:
        """A configuration load finished; a failed one keeps the last success timestamp."""
        self.fleet.config_reloaded(successful, at)

    def restore_last_successes(self, last_successes: dict[int, datetime]) -> None:
        """Seed the last-success timestamps from the ledger at start (never backwards)."""
        self.outcomes.restore_last_successes(last_successes)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (version 0.0.4).

        The per-VM table renders itself (the bulk of the series, in a few milliseconds at
        a thousand VMs); ``generate_latest`` renders the rest of the registry.
        """
        with self.table.hidden():
            rest = generate_latest(self.registry)
        return rest + self.table.render().encode()
