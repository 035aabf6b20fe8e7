"""Putting a daemon together: the composition root builds every part of ``snapd run``.

The runtime (each account's client, budget and engine, the ledger, the fleet runner) from
:mod:`snapd.runtime.root`, and for the daemon its leader role, clock, policy book, metrics,
notifier and request budgets (:mod:`snapd.runtime.services`), scheduler and observer;
:class:`~snapd.daemon.daemon.Daemon` receives them as
:class:`~snapd.daemon.parts.DaemonParts` and builds none of them.

``build_daemon`` is what ``snapd run`` and the demo use; tests build the same daemon with a
manual clock and the in-process fake API and drive it without a subprocess. With a manual
clock every wait of the daemon (the budget's, the inventory's spacing, the poller's, the
pipeline's) is on that clock: nothing waits in real time.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from snapd.clock import Clock, SystemClock
from snapd.clock_wrappers import InterruptibleClock
from snapd.config import Config
from snapd.daemon.daemon import Daemon
from snapd.daemon.leader import LeaderAwareClock, LeaderRole
from snapd.daemon.observer import DaemonObserver, RefreshPlanner
from snapd.daemon.parts import DaemonParts, DaemonSettings, Services
from snapd.daemon.policies import PolicyBook
from snapd.daemon.scheduler import SlotScheduler
from snapd.ledger import Ledger
from snapd.ledger.locks import DaemonRunningError, StateDirectoryLock
from snapd.pipeline.wait import PollSettings
from snapd.runtime.accounts import AccountOptions
from snapd.runtime.root import UsageError, open_runtime
from snapd.runtime.services import build_services
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


def _account_options(config: Config, services: Services) -> AccountOptions:
    """Each account's budget; with several accounts, each account's API observer, which
    keeps its token's state apart in the metrics."""
    observers = services.metrics.api_observer_of if config.several_accounts else None
    return AccountOptions(budgets=services.budgets, observers=observers)


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
        accounts=_account_options(config, services),
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
