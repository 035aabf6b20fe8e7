"""Starting the periodic inventory: one per account, each on its own client and budget.

The inventory itself (one pass over one account's fleet) is :mod:`snapd.daemon.inventory`;
here each account gets one, paced at its own ``requests_per_minute``, scheduled as the job
``inventory`` (a policy without ``accounts``) or ``inventory:NAME``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import structlog

from snapd.clock import Clock
from snapd.config import Config, VirtualMachinePolicy
from snapd.config.durations import format_duration
from snapd.daemon.inventory import (
    BackupListener,
    FleetInventory,
    MachineListener,
    SnapshotListener,
    StartupHook,
)
from snapd.daemon.inventory_pacing import (
    STARTUP_BUDGET_SHARE,
    inventory_interval,
    request_spacing,
)
from snapd.daemon.parts import AccountLink
from snapd.daemon.scheduler import SlotScheduler

log = structlog.get_logger("snapd.daemon")


@dataclass(frozen=True)
class InventoryParts:
    """What every account's inventory shares: who hears a pass, the stop, the scheduler,
    and the clock the spacing is waited on."""

    snapshots: SnapshotListener
    backups: BackupListener
    machines: MachineListener
    stop: threading.Event
    scheduler: SlotScheduler
    clock: Clock


def _vms_of(current: Callable[[], Config], account: str) -> list[VirtualMachinePolicy]:
    """The VMs of ``account`` in the current policy (a reload may change them)."""
    return [policy for policy in current().vms if policy.account == account]


def start_inventories(
    current: Callable[[], Config],
    connections: Mapping[str, AccountLink],
    parts: InventoryParts,
    startup: StartupHook,
    every: timedelta | None,
) -> None:
    """Schedule one inventory per account of the ``current`` policy, on that account's
    client (``connections``), every ``every`` (None: from its fleet and rate); the first
    look of each goes to ``startup`` (catch-up)."""
    config = current()
    for account in config.account_list():
        rate = account.requests_per_minute
        inventory = FleetInventory(
            connections[account.name].client,
            parts.snapshots,
            parts.backups,
            functools.partial(_vms_of, current, account.name),
            parts.stop,
            request_spacing(rate),
            startup=startup,
            startup_spacing=request_spacing(rate, STARTUP_BUDGET_SHARE),
            machines=parts.machines,
            account=account.name,
            # The spacing is waited on the daemon's clock, as every other wait of the
            # daemon: a stop ends it at once, and a manual clock drives it in tests.
            clock=parts.clock,
        )
        schedule_inventory(parts.scheduler, inventory, config, every, requests_per_minute=rate)


def schedule_inventory(
    scheduler: SlotScheduler,
    inventory: FleetInventory,
    config: Config,
    every: timedelta | None,
    *,
    requests_per_minute: int | None = None,
) -> timedelta:
    """Run ``inventory`` now and then every ``every`` (default: derived from the size of
    its fleet and ``requests_per_minute``, by default ``api.requests_per_minute``). An
    account's inventory (named) is the scheduler job ``inventory:NAME``."""
    rate = requests_per_minute or config.api.requests_per_minute
    size = len(list(inventory.policies()))
    chosen = every or inventory_interval(size, rate)
    name = f"inventory:{inventory.account}" if inventory.account else "inventory"
    fields = {"account": inventory.account} if inventory.account else {}
    log.info("inventory_scheduled", every=format_duration(chosen), **fields)
    scheduler.every(chosen, inventory, name)
    return chosen
