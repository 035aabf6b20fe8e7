"""``snapd restore`` and ``snapd delete``: destructive, so shown first and confirmed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from snapd.cli.argument_types import virtual_machine_reference
from snapd.cli.commands import ExitCode, UsageError
from snapd.cli.commands.formatting import age, iso_utc
from snapd.cli.options import VM_HELP
from snapd.logs import duration_text
from snapd.pipeline.outcome import Result

if TYPE_CHECKING:
    from snapd.runtime import Runtime

WARNINGS = MappingProxyType(
    {
        "restore": "the VM's disk will be replaced by this snapshot; changes since it are lost",
        "delete": "the VM will have no snapshot to restore from",
    }
)


def confirm(question: str, ask: Callable[[str], str] | None = None) -> bool:
    """Ask on the terminal; only an explicit yes counts."""
    answer = (ask or input)(question)
    return answer.strip().lower() in ("y", "yes")


def run_manual(
    runtime: Runtime,
    kind: str,
    virtual_machine_id: int,
    *,
    assume_yes: bool,
    now: datetime,
    interactive: bool | None = None,
    ask: Callable[[str], str] | None = None,
) -> int:
    """Show the snapshot, confirm (TTY) or require ``--yes``, run, report.

    Exit 0 when done or when the operator declined ("nothing done"), 1 when the VM has
    no snapshot or the action failed; ``UsageError`` without a terminal and ``--yes``.
    """
    policy = runtime.policies([virtual_machine_id], every=False)[0]
    # The operations of the VM's account: its token, its request budget.
    operations = runtime.operations_for(policy)
    snapshot = operations.current_snapshot(policy.id)
    if snapshot is None:
        print(
            f"virtual machine {policy.id} ({policy.name}) has no snapshot; nothing to {kind}",
            file=sys.stderr,
        )
        return ExitCode.FAILURE
    print(
        f"{kind} virtual machine {policy.id} ({policy.name}): snapshot {snapshot.id}, "
        f"created {iso_utc(snapshot.created_at)} ({age(snapshot.created_at, now)}), "
        f"expires {iso_utc(snapshot.expires_at)}"
    )
    print(f"warning: {WARNINGS[kind]}")
    if not assume_yes:
        on_terminal = sys.stdin.isatty() if interactive is None else interactive
        if not on_terminal:
            raise UsageError(f"refusing to {kind} without a terminal to confirm on; pass --yes")
        if not confirm(f"{kind} now? [y/N] ", ask):
            print("nothing done")
            return ExitCode.OK  # the operator's answer, not a failure
    operation = operations.restore if kind == "restore" else operations.delete
    outcome = operation(policy, snapshot)
    print(f"{kind} {outcome.result.value}: {outcome.detail}")
    if kind == "restore" and outcome.result is Result.SUCCESS and policy.hold_after_restore:
        held = duration_text(policy.hold_after_restore)
        print(f"virtual machine {policy.id} is held for {held}")
    return ExitCode.OK if outcome.result is Result.SUCCESS else ExitCode.FAILURE


def run(arguments: argparse.Namespace) -> int:
    """``snapd snapshot restore|delete``: one operator action on one VM, confirmed."""
    from snapd.cli.commands.loading import load, resolve
    from snapd.clock import utc_now
    from snapd.runtime import COMMAND_LINE_CONNECTION_RETRY_SECONDS, open_runtime

    config = load(arguments)
    virtual_machine_id = resolve(config, arguments.vm_id)
    runtime = open_runtime(config, connection_retry_seconds=COMMAND_LINE_CONNECTION_RETRY_SECONDS)
    try:
        return run_manual(
            runtime, arguments.kind, virtual_machine_id, assume_yes=arguments.yes, now=utc_now()
        )
    finally:
        runtime.close()


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd restore`` and ``snapd delete``."""
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
