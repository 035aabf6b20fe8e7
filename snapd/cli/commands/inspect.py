"""``snapd status`` and ``snapd history``: what every restore point looks like now and before."""

from __future__ import annotations

import sys
from datetime import datetime

from snapd.cli.commands import ExitCode
from snapd.cli.commands.formatting import age, iso_utc, table
from snapd.config.schedule import build_trigger, next_slots
from snapd.hostinger import ApiError
from snapd.ledger import Ledger
from snapd.runtime import Runtime


def status(runtime: Runtime, now: datetime) -> int:
    """One row per VM; exit 1 when the API could not be read for any VM."""
    rows = []
    failed = False
    try:
        # One request for every VM's state: the request budget is shared with the daemon.
        machines = {machine.id: machine for machine in runtime.client.list_virtual_machines()}
    except ApiError as error:
        print(f"snapd: error: cannot list the virtual machines: {error}", file=sys.stderr)
        return ExitCode.FAILURE
    for policy in runtime.config.vms:
        machine = machines.get(policy.id)
        try:
            snapshot = runtime.client.get_snapshot(policy.id) if machine else None
        except ApiError as error:
            failed = True
            state, snapshot = f"error: {error.status or 'no answer'}", None
        else:
            if machine is None:
                failed = True
                state = "not in this account"
            else:
                state = machine.state + (" (locked)" if machine.is_locked else "")
        last = runtime.ledger.last_success(policy.id)
        hold = runtime.ledger.active_hold(policy.id, now)
        upcoming = next_slots(build_trigger(policy.schedule, policy.timezone), now, 1)
        rows.append(
            [
                str(policy.id),
                policy.name,
                state,
                f"{iso_utc(snapshot.created_at)} ({age(snapshot.created_at, now)})"
                if snapshot
                else "none",
                f"{iso_utc(snapshot.expires_at)} ({age(snapshot.expires_at, now)})"
                if snapshot
                else "-",
                iso_utc(last.finished_at) if last else "never",
                f"until {iso_utc(hold.until)}: {hold.reason}" if hold else "-",
                iso_utc(upcoming[0]) if upcoming else "-",
            ]
        )
    headers = ["VM", "NAME", "STATE", "SNAPSHOT", "EXPIRES", "LAST SUCCESS", "HOLD", "NEXT RUN"]
    print(table(headers, rows), file=sys.stdout)
    return ExitCode.FAILURE if failed else ExitCode.OK


def history(ledger: Ledger, virtual_machine_id: int | None, limit: int) -> int:
    """The ledger, newest first: the history of restore points the API does not keep."""
    rows = [
        [
            iso_utc(record.finished_at),
            str(record.virtual_machine_id),
            record.kind,
            iso_utc(record.slot),
            record.outcome + (" (dry run)" if record.dry_run else ""),
            record.reason,
            str(record.action_id or "-"),
            f"{record.old_snapshot_id or '-'} -> {record.new_snapshot_id or '-'}",
            iso_utc(record.new_snapshot_created_at),
        ]
        for record in ledger.history(virtual_machine_id, limit)
    ]
    headers = [
        "FINISHED",
        "VM",
        "KIND",
        "SLOT",
        "OUTCOME",
        "REASON",
        "ACTION",
        "SNAPSHOT",
        "CREATED",
    ]
    print(table(headers, rows), file=sys.stdout)
    return ExitCode.OK
