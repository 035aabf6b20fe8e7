"""What the daemon adds to a runtime: metrics, notifications, one request budget per account.

Part of the composition root (imported by :mod:`snapd.runtime.daemon` only: it loads the
daemon's parts); only the daemon builds these.
"""

from __future__ import annotations

from collections.abc import Callable

from snapd.clock import Clock
from snapd.config import Config, VirtualMachinePolicy
from snapd.daemon.parts import Services
from snapd.metrics import Metrics
from snapd.metrics.process import register_process_collectors
from snapd.notify.delivery import DeliveryWorker
from snapd.notify.notifier import Notifier
from snapd.runtime.accounts import account_budgets

__all__ = ["Services", "build_services"]


def build_services(
    config: Config,
    policy: Callable[[int], VirtualMachinePolicy | None],
    clock: Clock,
    budget_clock: Clock | None = None,
) -> Services:
    """A fresh metrics registry (with the process and platform series), the notifier and
    the request budgets for ``config`` (one per account); the budgets pace and wait on
    ``budget_clock`` (default ``clock``).

    Notifications have their own worker and session: a hanging receiver cannot hold up a
    slot, and they do not count against the Hostinger request budget.
    """
    metrics = Metrics()
    register_process_collectors(metrics.registry)
    # The retries' backoff waits on the daemon's clock: a stop ends it, a test drives it.
    worker = DeliveryWorker(metrics.notification_finished, clock=clock)
    notifier = Notifier(policy, worker, clock=clock)
    budgets = account_budgets(config, budget_clock or clock)
    budget = next(iter(budgets.values()))
    metrics.budget_changed(budget.learned_requests_per_minute)
    return Services(metrics, notifier, budget, budgets)
