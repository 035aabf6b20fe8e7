"""``snapd_state_errors_total{operation}``: writes to snapd's own state that failed.

A full disk or a read-only ``state_dir`` does not stop the daemon: the slot it hit fails
closed (nothing is sent without a lock and an intent) and is counted here by what snapd
was writing, so that an alert can tell it from a failing API.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from snapd.pipeline.outcome import StateOperation


class StateMetrics:
    """The counter, in ``registry``; thread-safe (prometheus_client's own locks).

    A label value appears with its first count, as the other counters do.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.errors = Counter(
            "snapd_state_errors_total",
            "Writes to snapd's state that failed, by what was written: lock (a VM's lock "
            "file) or record (an outcome's ledger row).",
            ["operation"],
            registry=registry,
        )

    def error(self, operation: StateOperation) -> None:
        """Count one failed write; ``operation`` is one of a closed set."""
        self.errors.labels(StateOperation(operation).value).inc()
