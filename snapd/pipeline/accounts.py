"""Slots of several accounts side by side: each account's own workers, poller and client.

An account's slots wait on its own request budget; with one shared pool of workers, a 429
storm in one account would soon hold every worker and stall the others' slots. So each
account has its own :class:`~snapd.pipeline.fleet.FleetRunner`, and ``AccountFleets`` hands
each slot to the runner of its VM's account. The urgency (oldest restore point first) is
shared, so a pass still knows every VM's last success.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.pipeline.engine import Engine
from snapd.pipeline.fleet import Done, FleetRunner, Started
from snapd.pipeline.urgency import Urgency


class AccountFleets:
    """The runners of several accounts behind ``FleetRunner``'s interface."""

    def __init__(self, runners: Mapping[str, FleetRunner]) -> None:
        if not runners:
            raise ValueError("AccountFleets needs at least one runner")
        self.runners = dict(runners)
        first = next(iter(self.runners.values()))
        self.engine: Engine = first.engine
        self.clock: Clock = first.clock
        self.urgency: Urgency = first.urgency

    def submit_slot(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        done: Done,
        *,
        started: Started | None = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> None:
        """``FleetRunner.submit_slot`` on the runner of ``policy``'s account; a VM whose
        account has no runner raises ``KeyError`` (the policy guarantees one)."""
        self.runners[policy.account].submit_slot(
            policy, slot, done, started=started, dry_run=dry_run, force=force
        )

    def close(self, *, cancel_queued: bool = False) -> int:
        """Close every runner; returns how many queued slots were dropped in all."""
        return sum(runner.close(cancel_queued=cancel_queued) for runner in self.runners.values())

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every runner's workers (each up to ``timeout``); True when all ended."""
        return all([runner.join(timeout) for runner in self.runners.values()])


# What runs a daemon's or ``once``'s slots: one account's runner, or several accounts'.
SlotRunner = FleetRunner | AccountFleets
