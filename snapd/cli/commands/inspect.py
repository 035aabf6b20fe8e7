"""``snapd history``: what every restore point looked like before (``status`` is beside it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from snapd.cli.argument_types import positive_int, virtual_machine_reference
from snapd.cli.commands import ExitCode, UsageError
from snapd.cli.commands.formatting import iso_utc, table
from snapd.ledger import AttemptRecord, Ledger, PendingAction


def pending_text(pending: PendingAction | None) -> str:
    """``snapshot 8118677 since 2026-11-27T03:00:04Z``; "intent" before the API named it."""
    if pending is None:
        return "-"
    action = str(pending.action_id) if pending.action_id is not None else "intent"
    return f"{pending.kind} {action} since {iso_utc(pending.started_at)}"


def _history_row(record: AttemptRecord) -> list[str]:
    return [
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


def history(
    ledger: Ledger, virtual_machine_id: int | None, limit: int, *, by_account: bool = False
) -> int:
    """The ledger, newest first: the history of restore points the API does not keep;
    then the actions still pending, when there are any. Reads only. ``by_account`` (a
    policy with ``accounts``): one table per account, under its name."""
    records = ledger.history(virtual_machine_id, limit)
    groups: dict[str, list[list[str]]] = {}
    for record in records:
        groups.setdefault(record.account if by_account else "", []).append(_history_row(record))
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
    for account, rows in (groups or {"": []}).items():
        if by_account:
            print(f"account {account or '(none)'}", file=sys.stdout)
        print(table(headers, rows), file=sys.stdout)
    pending = [
        [str(action.virtual_machine_id), pending_text(action), iso_utc(action.slot)]
        for action in ledger.pending()
        if virtual_machine_id in (None, action.virtual_machine_id)
    ]
    if pending:
        print(f"\n{table(['VM', 'PENDING', 'SLOT'], pending)}", file=sys.stdout)
    return ExitCode.OK


def run(arguments: argparse.Namespace) -> int:
    """``snapd history``: one VM of the policy (by id or name) or all of them."""
    from snapd.cli.commands.loading import load, resolve
    from snapd.runtime import open_ledger

    config = load(arguments)
    virtual_machine_id = None if arguments.vm_id is None else resolve(config, arguments.vm_id)
    if virtual_machine_id is not None and virtual_machine_id not in {vm.id for vm in config.vms}:
        raise UsageError(f"virtual machine {virtual_machine_id} is not in {config.source}")
    with open_ledger(config, read_only_if_needed=True) as ledger:
        return history(
            ledger, virtual_machine_id, arguments.limit, by_account=config.several_accounts
        )


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd history``."""
    history = commands.add_parser(
        "history",
        parents=[config_option],
        help="the ledger of past attempts, newest first",
        description="Show past attempts from the ledger, newest first: the history of "
        "restore points that the API itself does not keep.",
    )
    history.add_argument(
        "vm_id",
        nargs="?",
        type=virtual_machine_reference,
        metavar="VM_ID",
        help="only this virtual machine, by id or by name in the policy (default: every VM)",
    )
    history.add_argument(
        "--limit", type=positive_int, default=50, metavar="N", help="rows to show (default 50)"
    )
    history.set_defaults(command="history")
