"""``snapd hold`` and ``snapd release``: keep the scheduler's hands off a VM's snapshot."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from snapd.cli.commands import ExitCode
from snapd.cli.commands.formatting import iso_utc
from snapd.hostinger import Snapshot
from snapd.ledger import Hold, Ledger


def hold(
    ledger: Ledger,
    virtual_machine_id: int,
    duration: timedelta,
    reason: str,
    now: datetime,
    snapshot: Snapshot | None,
) -> int:
    """Hold the VM until ``now + duration``; warn when the held snapshot expires first."""
    until = now + duration
    ledger.set_hold(Hold(virtual_machine_id, until, reason, now))
    print(f"virtual machine {virtual_machine_id} held until {iso_utc(until)}: {reason}")
    if snapshot is not None and snapshot.expires_at is not None and snapshot.expires_at < until:
        print(
            f"warning: the held snapshot expires at {iso_utc(snapshot.expires_at)}, "
            "before the hold ends; nothing will refresh it while the VM is held",
            file=sys.stderr,
        )
    return ExitCode.OK


def release(ledger: Ledger, virtual_machine_id: int) -> int:
    """Remove the VM's hold; exit 1 when there was none."""
    if ledger.release_hold(virtual_machine_id):
        print(f"virtual machine {virtual_machine_id} released")
        return ExitCode.OK
    print(f"virtual machine {virtual_machine_id} had no hold", file=sys.stderr)
    return ExitCode.FAILURE
