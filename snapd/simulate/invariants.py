"""The promises checked after every slot, from the fake's request log.

Each breach is a bug in snapd (or in a test double that breaks a guard on purpose): the
report names the rule, the moment and the VM, and the exit code is 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from snapd.config import VirtualMachinePolicy


class Rule(StrEnum):
    """The invariants, by the words a breach is reported with."""

    TWO_CREATES = "two creates for one slot"
    MIN_AGE = "a create while the snapshot was younger than min_age"
    PROTECT_MANUAL = "a create over a manual snapshot younger than protect_manual"
    UNHEALTHY = "a create while the VM was unhealthy"
    HELD = "a create while the VM was held"
    RPO = "no restore point for longer than the RPO outside injected faults"


@dataclass(frozen=True)
class Breach:
    moment: datetime
    virtual_machine_id: int
    rule: Rule
    detail: str = ""


@dataclass(frozen=True)
class Before:
    """What the VM looked like when its slot started."""

    snapshot_created: datetime | None
    manual: bool
    unhealthy: bool
    held: bool = False
    # The health check failed, but the VM had no restore point (none, or only an expired
    # one): a create is then allowed (``create_unhealthy``), a stopped VM still is not.
    unhealthy_without_restore_point: bool = False


@dataclass
class Invariants:
    """Collects breaches; ``check_slot`` after every slot the pipeline ran."""

    breaches: list[Breach] = field(default_factory=list)
    _created_for: set[tuple[int, datetime | None]] = field(default_factory=set)

    def check_slot(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        before: Before,
        creates: Sequence[datetime],
    ) -> None:
        """Check the creates (their moments) the fake saw for ``policy``'s ``slot``."""
        for moment in creates:
            key = (policy.id, slot)
            if key in self._created_for:
                self._breach(moment, policy.id, Rule.TWO_CREATES, f"slot {slot}")
            self._created_for.add(key)
            if before.unhealthy and not before.unhealthy_without_restore_point:
                self._breach(moment, policy.id, Rule.UNHEALTHY)
            if before.held:
                self._breach(moment, policy.id, Rule.HELD)
            if before.snapshot_created is None:
                continue
            age = moment - before.snapshot_created
            if age < policy.min_age:
                self._breach(moment, policy.id, Rule.MIN_AGE, f"snapshot {age} old")
            if before.manual and age < policy.protect_manual:
                self._breach(moment, policy.id, Rule.PROTECT_MANUAL, f"snapshot {age} old")

    def _breach(self, moment: datetime, vm: int, rule: Rule, detail: str = "") -> None:
        self.breaches.append(Breach(moment, vm, rule, detail))
