"""What a daemon is built from, and how ``snapd run`` was asked to run.

The composition root (:mod:`snapd.runtime.daemon`) builds every part; this package
only names what it receives, so it never imports the root.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from snapd.clock import Clock
from snapd.config import AccountSettings, Overrides
from snapd.daemon.observer import DaemonObserver
from snapd.daemon.policies import PolicyBook
from snapd.daemon.scheduler import SlotScheduler
from snapd.hostinger import HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.ledger import Ledger
from snapd.ledger.locks import StateDirectoryLock
from snapd.metrics import Metrics
from snapd.notify.notifier import Notifier
from snapd.pipeline.accounts import SlotRunner
from snapd.pipeline.workers import DEFAULT_WORKERS


class AccountLink(Protocol):
    """What the daemon uses of one account's connection (``snapd.runtime.accounts``)."""

    @property
    def account(self) -> AccountSettings: ...

    @property
    def client(self) -> HostingerClient: ...


class DaemonRuntime(Protocol):
    """What the daemon uses of the runtime the root built (``snapd.runtime.Runtime``)."""

    @property
    def client(self) -> HostingerClient: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def connections(self) -> Mapping[str, AccountLink]:
        """Every account's connection by name (the client the inventory uses)."""
        ...

    def close(self) -> None:
        """Close the client, the locks and the ledger."""
        ...


@dataclass
class Services:
    """What the daemon adds to a runtime: metrics, notifications, the request budgets."""

    metrics: Metrics
    notifier: Notifier
    budget: RequestBudget
    # Every account's budget by name (``budget`` is the first's): the limit is per token.
    budgets: dict[str, RequestBudget] = field(default_factory=dict)


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
    fleet: SlotRunner  # the workers and the poller, from ``Runtime.fleet``
    instance_lock: StateDirectoryLock | None = None  # one daemon per state_dir
