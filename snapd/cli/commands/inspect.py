"""``snapd status`` and ``snapd history``: what every restore point looks like now and before."""

from __future__ import annotations

import sys
from datetime import datetime

from snapd.cli.commands import ExitCode
from snapd.cli.commands.formatting import age, iso_utc, table
from snapd.config import Config, VirtualMachinePolicy
from snapd.config.schedule import build_trigger, next_slots
from snapd.hostinger import ApiError, HostingerClient, Snapshot
from snapd.ledger import Ledger, PendingAction


def pending_text(pending: PendingAction | None) -> str:
    """``snapshot 8118677 since 2026-11-27T03:00:04Z``; "intent" before the API named it."""
    if pending is None:
        return "-"
    action = str(pending.action_id) if pending.action_id is not None else "intent"
    return f"{pending.kind} {action} since {iso_utc(pending.started_at)}"


def status(config: Config, client: HostingerClient, ledger: Ledger, now: datetime) -> int:
    """One row per VM; exit 1 when the API could not be read for any VM.

    Reads the ledger only, so a read-only ledger serves (a monitoring user).
    """
    rows = []
    failed = False
    try:
        # One request for every VM's state: the request budget is shared with the daemon.
        machines = {machine.id: machine for machine in client.list_virtual_machines()}
    except ApiError as error:
        print(f"snapd: error: cannot list the virtual machines: {error}", file=sys.stderr)
        return ExitCode.FAILURE
    pending = {action.virtual_machine_id: action for action in ledger.pending()}
    for policy in config.vms:
        machine = machines.get(policy.id)
        try:
            snapshot = client.get_snapshot(policy.id) if machine else None
        except ApiError as error:
            failed = True
            state, snapshot = f"error: {error.status or 'no answer'}", None
        else:
            if machine is None:
                failed = True
                state = "not in this account"
            else:
                state = machine.state + (" (locked)" if machine.is_locked else "")
        row = [str(policy.id), policy.name, state, *_snapshot_cells(snapshot, now)]
        rows.append(row + _ledger_cells(policy, ledger, now, pending.get(policy.id)))
    print(table(STATUS_HEADERS, rows), file=sys.stdout)
    return ExitCode.FAILURE if failed else ExitCode.OK


STATUS_HEADERS = [
    "VM",
    "NAME",
    "STATE",
    "SNAPSHOT",
    "EXPIRES",
    "LAST SUCCESS",
    "HOLD",
    "NEXT RUN",
    "PENDING",
]


def _snapshot_cells(snapshot: Snapshot | None, now: datetime) -> list[str]:
    if snapshot is None:
        return ["none", "-"]
    return [
        f"{iso_utc(snapshot.created_at)} ({age(snapshot.created_at, now)})",
        f"{iso_utc(snapshot.expires_at)} ({age(snapshot.expires_at, now)})",
    ]


def _ledger_cells(
    policy: VirtualMachinePolicy, ledger: Ledger, now: datetime, pending: PendingAction | None
) -> list[str]:
    """Last success, hold, next run and pending action: what the ledger and policy say."""
    last = ledger.last_success(policy.id)
    hold = ledger.active_hold(policy.id, now)
    upcoming = next_slots(build_trigger(policy.schedule, policy.timezone), now, 1)
    return [
        iso_utc(last.finished_at) if last else "never",
        f"until {iso_utc(hold.until)}: {hold.reason}" if hold else "-",
        iso_utc(upcoming[0]) if upcoming else "-",
        pending_text(pending),
    ]


def history(ledger: Ledger, virtual_machine_id: int | None, limit: int) -> int:
    """The ledger, newest first: the history of restore points the API does not keep;
    then the actions still pending, when there are any. Reads only."""
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
    pending = [
        [str(action.virtual_machine_id), pending_text(action), iso_utc(action.slot)]
        for action in ledger.pending()
        if virtual_machine_id in (None, action.virtual_machine_id)
    ]
    if pending:
        print(f"\n{table(['VM', 'PENDING', 'SLOT'], pending)}", file=sys.stdout)
    return ExitCode.OK
