"""``snapd hold`` and ``snapd release``: keep the scheduler's hands off a VM's snapshot."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from typing import Any

from snapd.cli.argument_types import duration, instant, virtual_machine_reference
from snapd.cli.commands import ExitCode, UsageError
from snapd.cli.commands.formatting import iso_utc
from snapd.cli.options import VM_HELP
from snapd.clock import utc_now
from snapd.config import Config
from snapd.hostinger import Snapshot
from snapd.ledger import Hold, Ledger


def hold(
    ledger: Ledger,
    virtual_machine_id: int,
    until: datetime,
    reason: str,
    now: datetime,
    snapshot: Snapshot | None,
) -> int:
    """Hold the VM until ``until``; warn when the held snapshot expires first."""
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


def run(arguments: argparse.Namespace) -> int:
    """``snapd hold`` or ``snapd release``, as parsed."""
    from snapd.cli.commands.loading import load, resolve
    from snapd.runtime import open_ledger

    config = load(arguments)
    virtual_machine_id = resolve(config, arguments.vm_id)
    if arguments.command == "release":
        with open_ledger(config) as ledger:
            return release(ledger, virtual_machine_id)
    if virtual_machine_id not in {policy.id for policy in config.vms}:
        raise UsageError(f"virtual machine {virtual_machine_id} is not in {config.source}")
    until = hold_end(arguments.duration, arguments.until, utc_now())
    snapshot = _current_snapshot(config, virtual_machine_id)
    with open_ledger(config) as ledger:
        now = utc_now()
        return hold(ledger, virtual_machine_id, until, arguments.reason, now, snapshot)


def hold_end(duration: timedelta | None, until: datetime | None, now: datetime) -> datetime:
    """When the hold ends: ``now + duration`` (``--for``) or ``until`` (``--until``).

    Raises:
        UsageError: ``until`` is not after ``now`` (a hold that has already ended would
            silently protect nothing).
    """
    if duration is not None:
        return now + duration
    if until is None:
        raise UsageError("hold needs --for DURATION or --until TIME")
    if until <= now:
        raise UsageError(f"--until {iso_utc(until)} is in the past (now {iso_utc(now)})")
    return until


def _current_snapshot(config: Config, virtual_machine_id: int) -> Snapshot | None:
    """The VM's snapshot, to warn when it expires before the hold ends; None (with a
    warning) when the API cannot say."""
    from snapd.hostinger import ApiError
    from snapd.runtime import COMMAND_LINE_CONNECTION_RETRY_SECONDS, build_client

    try:
        account = config.account_of(config.vm(virtual_machine_id))
        client = build_client(
            config, connection_retry_seconds=COMMAND_LINE_CONNECTION_RETRY_SECONDS, account=account
        )
        try:
            return client.get_snapshot(virtual_machine_id)
        finally:
            client.close()
    except (UsageError, ApiError) as error:
        print(f"warning: could not check the snapshot's expiry: {error}", file=sys.stderr)
        return None


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd hold`` and ``snapd release``."""
    hold = commands.add_parser(
        "hold",
        parents=[config_option],
        help="stop scheduled snapshots from overwriting a VM's snapshot for a while",
        description="Hold a VM: no scheduled snapshot overwrites its current one until the "
        "hold ends. Warns when the snapshot expires before that.",
    )
    hold.add_argument("vm_id", type=virtual_machine_reference, metavar="VM_ID", help=VM_HELP)
    length = hold.add_mutually_exclusive_group(required=True)
    length.add_argument(
        "--for",
        dest="duration",
        type=duration,
        metavar="DURATION",
        help="how long, e.g. 48h or 3d",
    )
    length.add_argument(
        "--until",
        type=instant,
        metavar="TIME",
        help="until when: ISO 8601 with Z or an offset (2026-12-31T00:00Z, "
        "2026-12-31T02:00+02:00), or a date alone for its midnight UTC (2026-12-31); "
        "a time in the past is refused",
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
