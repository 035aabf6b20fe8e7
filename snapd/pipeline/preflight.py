"""Pre-flight: what the VM and its snapshot look like now, turned into decision facts.

Reading the current snapshot before anything is sent is what lets the ledger record
what a create would overwrite. The VM's state and lock come from the pass's shared list
call (:class:`~snapd.pipeline.fleet_view.FleetView`) on the first look, and from the VM
read alone on a second look, so the snapshot read is the one request per VM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from snapd.config import VirtualMachinePolicy
from snapd.hostinger import HostingerClient
from snapd.ledger import Ledger
from snapd.pipeline.decide import Facts, Guards
from snapd.pipeline.fleet_view import FleetView
from snapd.pipeline.outcome import OutcomeObserver, SnapshotState, snapshot_state


@dataclass(frozen=True)
class Preflight:
    """The VM's state and lock, and the snapshot a create would overwrite."""

    state: str
    locked: bool
    snapshot: SnapshotState | None


def read_virtual_machine(
    client: HostingerClient,
    observer: OutcomeObserver,
    virtual_machine_id: int,
    *,
    fleet: FleetView,
    again: bool = False,
) -> Preflight:
    """Read the VM and its snapshot; ``ApiError`` propagates.

    The first look (``again`` false) takes the VM from ``fleet``'s shared list, so only
    the snapshot read is this VM's own; a look ``again`` (the VM was busy) reads the VM
    alone, since the list may predate what made it busy.
    """
    read = fleet.machine_now if again else fleet.machine
    machine = read(virtual_machine_id)
    snapshot = snapshot_state(client.get_snapshot(virtual_machine_id))
    observer.snapshot_seen(virtual_machine_id, snapshot)
    return Preflight(machine.state, machine.is_locked, snapshot)


def collect_facts(
    ledger: Ledger,
    policy: VirtualMachinePolicy,
    slot: datetime | None,
    preflight: Preflight,
    now: datetime,
    *,
    force: bool,
) -> Facts:
    """Join what the API said with what the ledger knows (holds, authorship, the slot)."""
    snapshot = preflight.snapshot
    hold = ledger.active_hold(policy.id, now)
    made_by_snapd = snapshot is not None and ledger.made_by_snapd(
        policy.id, snapshot.id, snapshot.created_at
    )
    return Facts(
        now=now,
        virtual_machine_state=preflight.state,
        actions_locked=preflight.locked,
        snapshot_created_at=snapshot.created_at if snapshot else None,
        snapshot_made_by_snapd=made_by_snapd,
        snapshot_present=snapshot is not None,
        snapshot_expires_at=snapshot.expires_at if snapshot else None,
        held_until=hold.until if hold else None,
        slot_already_done=slot is not None and ledger.slot_succeeded(policy.id, slot),
        force=force,
    )


def guards_of(policy: VirtualMachinePolicy) -> Guards:
    """The decision's view of a VM policy."""
    return Guards(policy.allowed_states, policy.min_age, policy.protect_manual)
