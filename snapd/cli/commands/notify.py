"""``snapd notify test -c FILE [VM_ID...]``: send a test to every configured target.

Each target is tried once, at once, and its result printed (the URL reduced to scheme and
host); exit 1 when any failed, 2 when no VM has a target.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from snapd.cli.argument_types import virtual_machine_reference
from snapd.cli.commands import ExitCode, UsageError
from snapd.clock import utc_now
from snapd.config import Config


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The ``notify`` command group of the command line."""
    notify = commands.add_parser(
        "notify",
        help="notification tools (ping and webhooks)",
        description="Notification tools.",
    )
    notify_commands = notify.add_subparsers(title="notify commands", metavar="COMMAND")
    test = notify_commands.add_parser(
        "test",
        parents=[config_option],
        help="send a test notification to every configured target",
        description="Send a test notification to every ping and webhook configured for the "
        "given VMs (default: all) and print each result. The ping gets its success URL. "
        "Each target is tried once, bounded by its timeout in total; an answer longer than "
        "64 KiB is a failure. Exit 0 when every target accepted it, 1 when any failed.",
    )
    test.add_argument(
        "vm_ids",
        nargs="*",
        type=virtual_machine_reference,
        metavar="VM_ID",
        help="virtual machines, each by id or by name in the policy (default: every VM)",
    )
    test.set_defaults(command="notify_test")
    notify.set_defaults(command="config_help", help_parser=notify)


def run_test(config: Config, virtual_machine_ids: list[int]) -> int:
    """Send one test per target synchronously; print a line per target; return the exit code."""
    from snapd.config.masking import public_url
    from snapd.notify.delivery import DeliveryWorker
    from snapd.notify.messages import sample_notification
    from snapd.notify.notifier import deliveries

    known = {policy.id: policy for policy in config.vms}
    unknown = [str(vm) for vm in virtual_machine_ids if vm not in known]
    if unknown:
        raise UsageError(f"virtual machine(s) {', '.join(unknown)} not in {config.source}")
    chosen = [known[vm] for vm in virtual_machine_ids] if virtual_machine_ids else config.vms
    worker = DeliveryWorker(attempts=1)
    failed = sent = 0
    try:
        for policy in chosen:
            for delivery in deliveries(policy, sample_notification(policy.id, policy.name), _now()):
                result = worker.send(delivery)
                sent += 1
                failed += not result.ok
                verdict = "ok" if result.ok else "FAILED"
                why = result.problem or f"HTTP {result.status}"
                print(
                    f"VM {policy.id} ({policy.name}) {delivery.kind} "
                    f"{public_url(delivery.url)}: {verdict} ({why})",
                    file=sys.stdout,
                )
    finally:
        worker.close(0.0)
    if sent == 0:
        raise UsageError(f"no notification targets (notify) for these VMs in {config.source}")
    return ExitCode.FAILURE if failed else ExitCode.OK


def _now() -> datetime:
    return utc_now()


def run(arguments: argparse.Namespace) -> int:
    """``snapd notify test``: one test message per receiver of the named VMs."""
    from snapd.cli.commands.loading import load, resolve_all

    config = load(arguments)
    return run_test(config, resolve_all(config, arguments.vm_ids))
