"""The standard process and platform series of the Prometheus client, for the daemon.

``process_start_time_seconds`` (restarts), ``process_resident_memory_bytes``,
``process_open_fds`` and the rest of the ``process_*`` family, read from ``/proc`` at each
scrape (on Linux; elsewhere the family is empty), and ``python_info``. They are the
client's own collectors: the names are the ones every dashboard and alert already knows.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector


def register_process_collectors(registry: CollectorRegistry) -> None:
    """Add the process and platform collectors to ``registry`` (once per registry)."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
