"""What a daemon is built from, and how ``snapd run`` was asked to run."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from datetime import timedelta

from snapd.daemon.observer import DaemonObserver
from snapd.daemon.policies import PolicyBook
from snapd.daemon.scheduler import SlotScheduler
from snapd.ledger.locks import StateDirectoryLock
from snapd.pipeline.accounts import SlotRunner
from snapd.pipeline.workers import DEFAULT_WORKERS
from snapd.runtime import Runtime, Services


@dataclass(frozen=True)
class DaemonSettings:
    """How ``snapd run`` was asked to run (its options, not the policy)."""

    dry_run: bool = False
    metrics_host: str | None = None  # default: the policy's metrics.listen
    metrics_port: int | None = None
    inventory_every: timedelta | None = None  # default: from the fleet size and budget
    workers: int = DEFAULT_WORKERS  # threads for pre-flight, send, verify and record


@dataclass
class DaemonParts:
    """What a daemon is built from; ``snapd.daemon.assembly.build_daemon`` makes them."""

    runtime: Runtime
    services: Services
    observer: DaemonObserver
    scheduler: SlotScheduler
    policies: PolicyBook
    stop_event: threading.Event
    signals: queue.Queue[str]
    fleet: SlotRunner  # the workers and the poller, from ``Runtime.fleet``
    instance_lock: StateDirectoryLock | None = None  # one daemon per state_dir
