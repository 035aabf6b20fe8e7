"""``snapd restore`` and ``snapd delete``: destructive, so shown first and confirmed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime

from snapd.cli.commands import ExitCode, UsageError
from snapd.cli.commands.formatting import age, iso_utc
from snapd.pipeline.outcome import Result
from snapd.runtime import Runtime

WARNINGS = {
    "restore": "the VM's disk will be replaced by this snapshot; changes since it are lost",
    "delete": "the VM will have no snapshot to restore from",
}


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
    snapshot = runtime.operations.current_snapshot(policy.id)
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
    operation = runtime.operations.restore if kind == "restore" else runtime.operations.delete
    outcome = operation(policy, snapshot)
    print(f"{kind} {outcome.result.value}: {outcome.detail}")
    if kind == "restore" and outcome.result is Result.SUCCESS and policy.hold_after_restore:
        print(f"virtual machine {policy.id} is held for {policy.hold_after_restore}")
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
