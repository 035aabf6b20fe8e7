"""What a daemon is built from, and how ``snapd run`` was asked to run.

The composition root (:mod:`snapd.runtime.daemon`) builds every part; this package
only names what it receives, so it never imports the root.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from snapd.clock import Clock
from snapd.config import Overrides
from snapd.daemon.observer import DaemonObserver
from snapd.daemon.policies import PolicyBook
from snapd.daemon.scheduler import SlotScheduler
from snapd.hostinger import HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.ledger import Ledger
from snapd.ledger.locks import StateDirectoryLock
from snapd.metrics import Metrics
from snapd.notify.notifier import Notifier
from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.workers import DEFAULT_WORKERS


class DaemonRuntime(Protocol):
    """What the daemon uses of the runtime the root built (``snapd.runtime.Runtime``)."""

    client: HostingerClient
    ledger: Ledger
    clock: Clock

    def close(self) -> None:
        """Close the client, the locks and the ledger."""
        ...


@dataclass
class Services:
    """What the daemon adds to a runtime: metrics, notifications, the shared budget."""

    metrics: Metrics
    notifier: Notifier
    budget: RequestBudget


@dataclass(frozen=True)
class DaemonSettings:
    """How ``snapd run`` was asked to run (its options, not the policy)."""

    dry_run: bool = False
    metrics_host: str | None = None  # default: the policy's metrics.listen
    metrics_port: int | None = None
    inventory_every: timedelta | None = None  # default: from the fleet size and budget
    workers: int = DEFAULT_WORKERS  # threads for pre-flight, send, verify and record
    # The command line's --state-dir and --metrics-listen, kept over the policy on reload.
    overrides: Overrides = field(default_factory=Overrides)


@dataclass
class DaemonParts:
    """What a daemon is built from; ``snapd.runtime.daemon.build_daemon`` makes them."""

    runtime: DaemonRuntime
    services: Services
    observer: DaemonObserver
    scheduler: SlotScheduler
    policies: PolicyBook
    stop_event: threading.Event
    signals: queue.Queue[str]
    fleet: FleetRunner  # the workers and the poller, from ``Runtime.fleet``
    instance_lock: StateDirectoryLock | None = None  # one daemon per state_dir
