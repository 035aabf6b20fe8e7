"""What happened to each VM during a simulation: restore points, faults, skips, calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from snapd.config import Config, VirtualMachinePolicy
from snapd.simulate.faults import Trouble, TroubleKind
from snapd.simulate.world import Request

#: Why a restore point may be missing, by the fault that covered the moment.
FAULT_REASONS = {
    TroubleKind.OUTAGE: "outage",
    TroubleKind.UNHEALTHY: "unhealthy",
    TroubleKind.STOPPED: "stopped",
    TroubleKind.MANUAL: "manual snapshot protected",
    TroubleKind.DAEMON_DOWN: "daemon down",
    TroubleKind.HOLD: "hold",
    TroubleKind.STORM: "storm",
    TroubleKind.FAILED_ACTIONS: "failed actions",
    TroubleKind.SLOW_ACTIONS: "slow actions",
    TroubleKind.CLOCK_SKEW: "clock skew",
}


@dataclass
class Machine:
    """One VM's story: its restore points' creation times, fault windows, slot results."""

    policy: VirtualMachinePolicy
    restore_points: list[datetime] = field(default_factory=list)
    faults: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    vetoes: Counter[str] = field(default_factory=Counter)
    creates: int = 0


@dataclass
class History:
    """Every VM's story and the fleet's requests per day and per minute."""

    start: datetime
    end: datetime
    machines: dict[int, Machine] = field(default_factory=dict)
    per_day: Counter[str] = field(default_factory=Counter)
    per_minute: Counter[datetime] = field(default_factory=Counter)

    def add(self, policy: VirtualMachinePolicy) -> None:
        self.machines[policy.id] = Machine(policy)

    def fault(self, trouble: Trouble, start: datetime, config: Config) -> None:
        """Remember the window ``trouble`` covers for each VM it touches."""
        for machine in self.machines.values():
            if trouble.vm is not None and trouble.vm != machine.policy.id:
                continue
            length = trouble.length
            if trouble.kind is TroubleKind.MANUAL:
                length = machine.policy.protect_manual
            begin = start + trouble.at
            machine.faults.append((begin, begin + length, FAULT_REASONS[trouble.kind]))

    def restore_point(self, vm: int, created: datetime) -> None:
        self.machines[vm].restore_points.append(created)

    def outcome(self, vm: int, skipped: bool, reason: str, creates: int) -> None:
        machine = self.machines[vm]
        machine.creates += creates
        if skipped:
            machine.vetoes[reason] += 1

    def requests(self, moments: Iterable[datetime]) -> None:
        for moment in moments:
            self.per_day[moment.date().isoformat()] += 1
            self.per_minute[moment.replace(second=0, microsecond=0)] += 1


def creates_of(requests: Sequence[Request], vm: int) -> list[datetime]:
    """The moments of the snapshot creates for ``vm`` among ``requests``."""
    suffix = f"/virtual-machines/{vm}/snapshot"
    return [r.at for r in requests if r.method == "POST" and r.path.endswith(suffix)]


def created_at(snapshot: object) -> datetime | None:
    """When the fake's snapshot (its JSON) was created; None without one."""
    if not isinstance(snapshot, dict) or not snapshot.get("created_at"):
        return None
    return datetime.fromisoformat(str(snapshot["created_at"]))
