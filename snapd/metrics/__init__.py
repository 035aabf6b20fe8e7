"""Every Prometheus metric snapd exports and the HTTP endpoint that serves them.

The registry is injectable: the daemon builds one ``Metrics`` and hands it to the engine
(as its outcome observer), to the API client (as its request observer) and to the
``MetricsServer``; tests build a fresh one each.
"""

from snapd.metrics.collectors import API_DURATION_BUCKETS, SNAPSHOT_DURATION_BUCKETS, Metrics
from snapd.metrics.server import MetricsServer, MetricsServerError, Readiness

__all__ = [
    "API_DURATION_BUCKETS",
    "SNAPSHOT_DURATION_BUCKETS",
    "Metrics",
    "MetricsServer",
    "MetricsServerError",
    "Readiness",
]
