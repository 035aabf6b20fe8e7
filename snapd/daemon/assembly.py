"""Putting a daemon together: its parts from ``snapd.runtime``, its observer, its scheduler.

``build_daemon`` is what ``snapd run`` and the demo use; tests build the same daemon with a
manual clock and the in-process fake API and drive it without a subprocess.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from snapd.clock import Clock, InterruptibleClock
from snapd.config import Config
from snapd.daemon.daemon import Daemon, DaemonParts, DaemonSettings
from snapd.daemon.observer import DaemonObserver, RefreshPlanner
from snapd.daemon.policies import PolicyBook
from snapd.daemon.scheduler import SlotScheduler
from snapd.pipeline.wait import PollSettings
from snapd.runtime import build_services, open_ledger, open_runtime

__all__ = ["DaemonSettings", "build_daemon"]


def build_daemon(
    config_path: Path,
    config: Config,
    settings: DaemonSettings | None = None,
    *,
    token: str | None = None,
    poll: PollSettings | None = None,
    clock: Clock | None = None,
    signals: queue.Queue[str] | None = None,
) -> Daemon:
    """A daemon for ``config``, not yet running; raise ``UsageError`` like ``open_runtime``.

    ``clock`` defaults to the real one; whichever it is, a stop interrupts its waits.
    """
    stop_event = threading.Event()
    daemon_clock = InterruptibleClock(stop_event, clock)
    policies = PolicyBook(config.vms)
    services = build_services(config, policies.get, daemon_clock)
    ledger = open_ledger(config)

    def held(virtual_machine_id: int) -> bool:
        return ledger.active_hold(virtual_machine_id, daemon_clock.now()) is not None

    scheduler = SlotScheduler(None, len(config.vms), now=daemon_clock.now)
    refresh = RefreshPlanner(policies.get, scheduler, daemon_clock)
    observer = DaemonObserver(services.metrics, policies.get, held, refresh, services.notifier)
    runtime = open_runtime(
        config,
        ledger=ledger,
        budget=services.budget,
        clock=daemon_clock,
        observer=observer,
        api_observer=services.metrics,
        poll=poll,
        should_stop=stop_event.is_set,
        token=token,
    )
    parts = DaemonParts(
        runtime, services, observer, scheduler, policies, stop_event, signals or queue.Queue()
    )
    return Daemon(config_path, config, parts, settings or DaemonSettings())
