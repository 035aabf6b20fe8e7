"""The metrics of the ledger and of leadership among replicas.

``snapd_leader`` is 1 on the replica that acts and 0 on a standby; a single instance (the
SQLite ledger) always leads. ``snapd_leader_changes_total`` counts this replica's changes
of role; ``snapd_ledger_errors_total`` counts failed ledger operations (a database outage
shows here, while the slots it touched fail closed); ``snapd_slots_skipped_total{reason}``
counts the slots that fired while this replica could not act (``standby``, or
``leadership_unconfirmed`` while its database session stalls).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class LedgerMetrics:
    """The four series, in ``registry``; thread-safe (prometheus_client's own locks)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.leader = Gauge(
            "snapd_leader",
            "1 when this replica acts (holds the fleet's leadership), 0 on a standby.",
            registry=registry,
        )
        self.leader.set(1)
        self.leader_changes = Counter(
            "snapd_leader_changes_total",
            "Times this replica became leader or stopped being one.",
            registry=registry,
        )
        self.errors = Counter(
            "snapd_ledger_errors_total",
            "Ledger operations that failed (database unreachable, statement failed).",
            registry=registry,
        )
        self.slots_skipped = Counter(
            "snapd_slots_skipped",
            "Slots that fired while this replica could not act, by reason.",
            ["reason"],
            registry=registry,
        )

    def set_leader(self, leader: bool, *, change: bool = True) -> None:
        """Export the role; ``change`` counts it as a change of role."""
        self.leader.set(1 if leader else 0)
        if change:
            self.leader_changes.inc()

    def error(self) -> None:
        """Count one failed ledger operation."""
        self.errors.inc()

    def slot_skipped(self, reason: str) -> None:
        """Count one slot not run here: ``standby`` or ``leadership_unconfirmed``."""
        self.slots_skipped.labels(reason).inc()
