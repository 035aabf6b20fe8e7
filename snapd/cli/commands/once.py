"""``snapd once``: run the guarded pipeline now for some VMs or all of them."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from snapd.cli.commands import ExitCode
from snapd.cli.commands.formatting import iso_utc, table
from snapd.config import VirtualMachinePolicy
from snapd.notify.notifier import Notifier
from snapd.pipeline.outcome import Outcome, Result
from snapd.runtime import Runtime

# Waits are mostly sleeping; many run side by side and the shared request budget, not
# this number, sets the pace.
MAXIMUM_PARALLEL_VMS = 256
FAILURES = (
    Result.FAILED,
    Result.UNVERIFIED,
    Result.TIMEOUT,
    Result.AMBIGUOUS,
    Result.INTERRUPTED,
)


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """1 when any failed, else 3 when a guard skipped any, else 0."""
    if any(outcome.result in FAILURES for outcome in outcomes):
        return ExitCode.FAILURE
    if any(outcome.result is Result.SKIPPED for outcome in outcomes):
        return ExitCode.SKIPPED
    return ExitCode.OK


def run_once(
    runtime: Runtime,
    policies: list[VirtualMachinePolicy],
    *,
    dry_run: bool,
    force: bool,
    notifier: Notifier | None = None,
) -> int:
    """Run every VM's pipeline (overlapping their waits), print a summary, return the exit code.

    ``notifier`` (also the engine's observer) gets each slot's start for the start ping.
    """

    def run(policy: VirtualMachinePolicy) -> Outcome:
        if notifier is not None:
            notifier.slot_started(policy, None, dry_run)
        return runtime.engine.run_slot(policy, None, dry_run=dry_run, force=force)

    workers = max(1, min(len(policies), MAXIMUM_PARALLEL_VMS))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snapd-once") as pool:
        outcomes = list(pool.map(run, policies))
    print_summary(outcomes, {policy.id: policy.name for policy in policies})
    return exit_code(outcomes)


def print_summary(outcomes: Sequence[Outcome], names: dict[int, str]) -> None:
    rows = [
        [
            str(outcome.virtual_machine_id),
            names.get(outcome.virtual_machine_id, ""),
            outcome.result.value,
            outcome.reason,
            str(outcome.action_id or "-"),
            iso_utc(outcome.new_snapshot.created_at if outcome.new_snapshot else None),
            outcome.detail,
        ]
        for outcome in outcomes
    ]
    headers = ["VM", "NAME", "RESULT", "REASON", "ACTION", "NEW SNAPSHOT", "DETAIL"]
    print(table(headers, rows), file=sys.stdout)
