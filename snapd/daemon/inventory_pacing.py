"""How fast the periodic inventory may go: its share of the request budget and its interval.

A pass costs one list of the account's VMs, one snapshot read per VM and the backups of
the VMs whose turn it is (every VM's once in ``BACKUP_ROTATION_PASSES`` passes). Its
requests are spaced so that they use at most 1/``BUDGET_SHARE`` of the budget (the
start-up look 1/``STARTUP_BUDGET_SHARE``), and a pass starts as often as a paced pass
takes, never more often than ``MINIMUM_INTERVAL``.
"""

from __future__ import annotations

from datetime import timedelta

#: The inventory may use at most 1/BUDGET_SHARE of the request budget.
BUDGET_SHARE = 10
#: The start-up look may use at most 1/STARTUP_BUDGET_SHARE of it.
STARTUP_BUDGET_SHARE = 2
#: Every VM's backups are read once in this many passes.
BACKUP_ROTATION_PASSES = 12
#: Passes closer together than this add requests but no useful freshness for alerts
#: whose shortest ``for`` is minutes.
MINIMUM_INTERVAL = timedelta(minutes=5)


def backups_per_pass(fleet_size: int) -> int:
    """How many VMs' backups a pass reads: the whole fleet over the rotation."""
    return -(-fleet_size // BACKUP_ROTATION_PASSES)


def requests_per_pass(fleet_size: int) -> int:
    """One list of the account's VMs, a snapshot read per VM, and the rotation's backups."""
    return 1 + fleet_size + backups_per_pass(fleet_size)


def request_spacing(requests_per_minute: int, share: int = BUDGET_SHARE) -> float:
    """Seconds between two inventory requests so that they use 1/``share`` of the budget."""
    return 60.0 * share / requests_per_minute


def inventory_interval(fleet_size: int, requests_per_minute: int) -> timedelta:
    """How often a pass starts: the time a paced pass takes, at least ``MINIMUM_INTERVAL``."""
    seconds = requests_per_pass(fleet_size) * request_spacing(requests_per_minute)
    return max(MINIMUM_INTERVAL, timedelta(seconds=seconds))
