"""The grammar of the commands that act on VMs: once, status, history, hold, release,
restore and delete."""

from __future__ import annotations

import argparse
from typing import Any

from snapd.cli.argument_types import (
    add_workers_argument,
    duration,
    positive_int,
    virtual_machine_reference,
)

VM_HELP = "a virtual machine: its id, or its name in the policy"


def add_operations(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The commands that act on VMs: once, status, history, hold, release, restore, delete."""
    _add_once(commands, config_option)
    _add_inspection(commands, config_option)
    _add_holds(commands, config_option)
    _add_manual(commands, config_option)


def _add_once(commands: Any, config_option: argparse.ArgumentParser) -> None:
    once = commands.add_parser(
        "once",
        parents=[config_option],
        help="run the guarded snapshot pipeline now",
        description="Run the guarded pipeline now for the given VMs (or --all) and wait for "
        "the result. Exit 0 when every VM got a verified snapshot (or, with --dry-run, "
        "every decision was made), 1 when any failed, 3 when a guard skipped any and none "
        "failed, 130 on Ctrl-C (an action being waited for stays pending; the next run "
        "resumes it).",
    )
    targets = once.add_mutually_exclusive_group(required=True)
    targets.add_argument(
        "vm_ids",
        nargs="*",
        default=[],
        type=virtual_machine_reference,
        metavar="VM_ID",
        help="virtual machines from the policy, each by id or by name",
    )
    targets.add_argument("--all", action="store_true", help="every VM in the policy")
    once.add_argument(
        "--dry-run",
        action="store_true",
        help="walk the same path and log the same lines, but create nothing",
    )
    once.add_argument(
        "--force",
        action="store_true",
        help="ignore min_age, protect_manual and holds (nothing else)",
    )
    add_workers_argument(once)
    once.set_defaults(command="once")


def _add_inspection(commands: Any, config_option: argparse.ArgumentParser) -> None:
    status = commands.add_parser(
        "status",
        parents=[config_option],
        help="one row per VM: state, snapshot age and expiry, last success, hold, next run",
        description="Show every VM's restore point as the API and the ledger see it now. "
        "One request lists the VMs, then up to 16 snapshot reads run at a time within "
        "api.requests_per_minute. When a daemon runs on the same state_dir, its /status "
        "answers instead and no API request is made.",
    )
    status.set_defaults(command="status")

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


def _add_holds(commands: Any, config_option: argparse.ArgumentParser) -> None:
    hold = commands.add_parser(
        "hold",
        parents=[config_option],
        help="stop scheduled snapshots from overwriting a VM's snapshot for a while",
        description="Hold a VM: no scheduled snapshot overwrites its current one until the "
        "hold ends. Warns when the snapshot expires before that.",
    )
    hold.add_argument("vm_id", type=virtual_machine_reference, metavar="VM_ID", help=VM_HELP)
    hold.add_argument(
        "--for",
        dest="duration",
        type=duration,
        required=True,
        metavar="DURATION",
        help="how long, e.g. 48h or 3d",
    )
    hold.add_argument(
        "--reason", required=True, metavar="TEXT", help="why, shown in status and logs"
    )
    hold.set_defaults(command="hold")

    release = commands.add_parser(
        "release",
        parents=[config_option],
        help="end a VM's hold",
        description="End a VM's hold; scheduled snapshots resume with the next slot.",
    )
    release.add_argument("vm_id", type=virtual_machine_reference, metavar="VM_ID", help=VM_HELP)
    release.set_defaults(command="release")


def _add_manual(commands: Any, config_option: argparse.ArgumentParser) -> None:
    for kind, summary in (
        ("restore", "restore a VM from its snapshot (asks first)"),
        ("delete", "delete a VM's snapshot (asks first)"),
    ):
        manual = commands.add_parser(
            kind,
            parents=[config_option],
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}. Shows the snapshot, asks for "
            "confirmation on a terminal, refuses without one unless --yes, waits for the "
            "action and records it."
            + (" The VM is then held for hold_after_restore." if kind == "restore" else ""),
        )
        manual.add_argument("vm_id", type=virtual_machine_reference, metavar="VM_ID", help=VM_HELP)
        manual.add_argument("--yes", action="store_true", help="do not ask")
        manual.set_defaults(command="manual", kind=kind)
