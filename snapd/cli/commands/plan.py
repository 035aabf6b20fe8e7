"""``snapd plan``: the next slots of every VM, to check a schedule before trusting it."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from snapd.cli.argument_types import positive_int, timestamp
from snapd.cli.commands import ExitCode
from snapd.cli.commands.formatting import iso_utc
from snapd.cli.commands.loading import load_or_report
from snapd.config.cron import load_timezone
from snapd.config.durations import format_duration
from snapd.config.schedule import build_trigger, next_slots


def plan(
    path: Path,
    count: int,
    after: datetime,
) -> int:
    """Print the next ``count`` slots after ``after`` for each VM, in UTC and local time;
    with several accounts, the VMs of each under an ``account NAME`` line. Reads the policy
    only: this machine's paths are not checked (nothing is written)."""
    config = load_or_report(path, offline=True)
    if config is None:
        return ExitCode.USAGE
    lines: list[str] = []
    account_order = {account.name: index for index, account in enumerate(config.accounts)}
    # With several accounts, the VMs under their account's name, in the policy's order.
    policies = sorted(config.vms, key=lambda policy: account_order.get(policy.account, 0))
    for index, policy in enumerate(policies):
        if config.accounts and (index == 0 or policies[index - 1].account != policy.account):
            lines.append(f"account {policy.account}")
        zone = load_timezone(policy.timezone)
        trigger = build_trigger(policy.schedule, policy.timezone)
        lines.append(
            f"{policy.name} (id {policy.id}): {policy.schedule!r} in {policy.timezone}"
            + (f", up to {format_duration(policy.jitter)} later (jitter)" if policy.jitter else "")
        )
        for slot in next_slots(trigger, after, count):
            local = slot.astimezone(zone)
            lines.append(f"  {iso_utc(slot)}  {local.isoformat()} {local:%a}")
    # One write: a thousand VMs print 6000 lines.
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return ExitCode.OK


def run(arguments: argparse.Namespace) -> int:
    """``snapd plan``, as parsed: from now unless ``--after`` says otherwise."""
    from snapd.clock import utc_now

    return plan(arguments.config, arguments.count, arguments.after or utc_now())


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd plan``."""
    plan = commands.add_parser(
        "plan",
        parents=[config_option],
        help="show the next scheduled slots of every VM",
        description="Print the next slots of every VM, in UTC and in the VM's time zone. "
        "Only the file is checked, not this machine's paths (state_dir, api.token_file): a "
        "production policy can be previewed anywhere.",
    )
    plan.add_argument(
        "--count", type=positive_int, default=5, metavar="N", help="slots per VM (default 5)"
    )
    plan.add_argument(
        "--after",
        type=timestamp,
        metavar="TIMESTAMP",
        help="list slots after this ISO 8601 instant instead of now (UTC without an offset)",
    )
    plan.set_defaults(command="plan")
