"""What the daemon adds to a runtime: metrics, notifications, one request budget per account.

Part of the composition root (see ``snapd.runtime.root``): only the daemon builds these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from snapd.clock import Clock
from snapd.config import Config, VirtualMachinePolicy
from snapd.hostinger.budget import RequestBudget
from snapd.metrics import Metrics
from snapd.metrics.process import register_process_collectors
from snapd.notify.delivery import DeliveryWorker
from snapd.notify.notifier import Notifier
from snapd.runtime.accounts import account_budgets


@dataclass
class Services:
    """What the daemon adds to a runtime: metrics, notifications, the shared budget."""

    metrics: Metrics
    notifier: Notifier
    budget: RequestBudget
    # Every account's budget by name (``budget`` is the first's): the limit is per token.
    budgets: dict[str, RequestBudget] = field(default_factory=dict)


def build_services(
    config: Config,
    policy: Callable[[int], VirtualMachinePolicy | None],
    clock: Clock,
) -> Services:
    """A fresh metrics registry (with the process and platform series), the notifier and
    the request budgets for ``config`` (one per account).

    Notifications have their own worker and session: a hanging receiver cannot hold up a
    slot, and they do not count against the Hostinger request budget.
    """
    metrics = Metrics()
    register_process_collectors(metrics.registry)
    notifier = Notifier(policy, DeliveryWorker(metrics.notification_finished), clock=clock)
    budgets = account_budgets(config)
    budget = next(iter(budgets.values()))
    metrics.budget_changed(budget.learned_requests_per_minute)
    return Services(metrics, notifier, budget, budgets)
