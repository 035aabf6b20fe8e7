"""Putting a daemon together: the composition root builds every part of ``snapd run``.

The runtime (client, budget, ledger, engine, fleet runner) from :mod:`snapd.runtime.root`,
and for the daemon its leader role, clock, policy book, metrics, notifier, request budget,
scheduler and observer; :class:`~snapd.daemon.daemon.Daemon` receives them as
:class:`~snapd.daemon.parts.DaemonParts` and builds none of them.

``build_daemon`` is what ``snapd run`` and the demo use; tests build the same daemon with a
manual clock and the in-process fake API and drive it without a subprocess. With a manual
clock every wait of the daemon (the budget's, the inventory's spacing, the poller's, the
pipeline's) is on that clock: nothing waits in real time.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

from snapd.clock import Clock, SystemClock
from snapd.clock_wrappers import InterruptibleClock
from snapd.config import Config, VirtualMachinePolicy
from snapd.daemon.daemon import Daemon
from snapd.daemon.leader import LeaderAwareClock, LeaderRole
from snapd.daemon.observer import DaemonObserver, RefreshPlanner
from snapd.daemon.parts import DaemonParts, DaemonSettings, Services
from snapd.daemon.policies import PolicyBook
from snapd.daemon.scheduler import SlotScheduler
from snapd.hostinger.budget import RequestBudget
from snapd.ledger import Ledger
from snapd.ledger.locks import DaemonRunningError, StateDirectoryLock
from snapd.metrics import Metrics
from snapd.metrics.process import register_process_collectors
from snapd.notify.delivery import DeliveryWorker
from snapd.notify.notifier import Notifier
from snapd.pipeline.wait import PollSettings
from snapd.runtime.root import UsageError, open_runtime
from snapd.runtime.state import build_leadership, open_ledger

__all__ = ["DaemonSettings", "build_daemon", "build_services"]


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
    The daemon holds ``state_dir``'s daemon lock from here on: a second daemon on the same
    state gets ``UsageError`` naming the first one's pid.
    """
    leader = LeaderRole()
    leadership = build_leadership(config, leader.changed, leader.error)
    leader.leadership = leadership
    if leadership is not None:
        _create_state_dir(config.state_dir)  # only the daemon lock lives there
    ledger = open_ledger(config, fence=leadership)  # creates state_dir, or says why it cannot
    instance_lock = StateDirectoryLock(config.state_dir)
    try:
        instance_lock.acquire()
    except DaemonRunningError as error:
        ledger.close()
        raise UsageError(str(error)) from None
    except OSError as error:
        ledger.close()
        raise UsageError(f"state_dir {config.state_dir}: {error.strerror}") from None
    try:
        daemon = _assemble(
            config_path,
            config,
            settings,
            (ledger, instance_lock, leader),
            token,
            poll,
            clock,
            signals,
        )
    except BaseException:
        instance_lock.release()
        raise
    daemon.attach_leadership(leadership, leader)
    return daemon


def _create_state_dir(state_dir: Path) -> None:
    try:
        state_dir.mkdir(mode=0o700, exist_ok=True)
    except OSError as error:
        raise UsageError(f"state_dir {state_dir}: {error.strerror}") from None


def _assemble(
    config_path: Path,
    config: Config,
    settings: DaemonSettings | None,
    state: tuple[Ledger, StateDirectoryLock, LeaderRole],
    token: str | None,
    poll: PollSettings | None,
    clock: Clock | None,
    signals: queue.Queue[str] | None,
) -> Daemon:
    ledger, instance_lock, leader = state
    stop_event = threading.Event()
    daemon_clock: Clock = InterruptibleClock(stop_event, clock)
    if leader.leadership is not None:
        daemon_clock = LeaderAwareClock(daemon_clock, leader, stop_event)
    policies = PolicyBook(config.vms)
    # The budget's own close() ends its waits at the stop; on the interruptible clock a
    # caller would spin between the stop and that close.
    services = build_services(config, policies.get, daemon_clock, clock or SystemClock())

    def held(virtual_machine_id: int) -> bool:
        return ledger.active_hold(virtual_machine_id, daemon_clock.now()) is not None

    scheduler = SlotScheduler(None, clock=daemon_clock)
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
        should_stop=lambda: stop_event.is_set() or not leader.is_leader(),
        token=token,
    )
    settings = settings or DaemonSettings()
    fleet = runtime.fleet(settings.workers)
    parts = DaemonParts(
        runtime, services, observer, scheduler, policies, stop_event,
        signals or queue.Queue(), fleet, instance_lock,
    )  # fmt: skip
    return Daemon(config_path, config, parts, settings)


def build_services(
    config: Config,
    policy: Callable[[int], VirtualMachinePolicy | None],
    clock: Clock,
    budget_clock: Clock | None = None,
) -> Services:
    """A fresh metrics registry (with the process and platform series), the notifier and
    the request budget for ``config``; the budget paces and waits on ``budget_clock``
    (default ``clock``).

    Notifications have their own worker and session: a hanging receiver cannot hold up a
    slot, and they do not count against the Hostinger request budget.
    """
    metrics = Metrics()
    register_process_collectors(metrics.registry)
    # The retries' backoff waits on the daemon's clock: a stop ends it, a test drives it.
    worker = DeliveryWorker(metrics.notification_finished, clock=clock)
    notifier = Notifier(policy, worker, clock=clock)
    budget = RequestBudget(config.api.requests_per_minute, budget_clock or clock)
    metrics.budget_changed(budget.learned_requests_per_minute)
    return Services(metrics, notifier, budget)
