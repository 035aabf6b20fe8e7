"""``snapd once``: run the guarded pipeline now for some VMs or all of them."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from snapd.cli.commands import ExitCode
from snapd.cli.commands.formatting import iso_utc, table
from snapd.config import VirtualMachinePolicy
from snapd.notify.notifier import Notifier
from snapd.pipeline.outcome import Outcome, Result
from snapd.runtime import Runtime

# Waits are mostly sleeping; many run side by side and the shared request budget, not
# this number, sets the pace.
MAXIMUM_PARALLEL_VMS = 256
#: After Ctrl-C, how long the pipelines get to record where they stand; a pipeline still
#: inside a request after that is left behind (its pending row is already in the ledger).
STOP_BOUND_SECONDS = 2.0
# How often the main thread looks at the stop event while the pipelines run.
_STOP_CHECK_SECONDS = 0.2
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
    stop: threading.Event | None = None,
) -> int:
    """Run every VM's pipeline (overlapping their waits), print a summary, return the exit code.

    ``notifier`` (also the engine's observer) gets each slot's start for the start ping.
    ``stop`` is the Ctrl-C event the pipelines and their clock also watch: once it is set,
    the pipelines get :data:`STOP_BOUND_SECONDS` to record where they stand, and the result
    is :attr:`ExitCode.INTERRUPTED` without waiting for the rest (the caller then leaves
    the process without joining them).
    """

    def run(policy: VirtualMachinePolicy) -> Outcome:
        if notifier is not None:
            notifier.slot_started(policy, None, dry_run)
        return runtime.engine.run_slot(policy, None, dry_run=dry_run, force=force)

    workers = max(1, min(len(policies), MAXIMUM_PARALLEL_VMS))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snapd-once")
    futures = [pool.submit(run, policy) for policy in policies]
    interrupted = _wait_or_stop(futures, stop or threading.Event())
    pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
    names = {policy.id: policy.name for policy in policies}
    if interrupted:
        done = [future.result() for future in futures if future.done() and not future.cancelled()]
        print_summary(done, names)
        print(
            "snapd: interrupted; actions being waited for stay pending in the ledger "
            "and the next run resumes them",
            file=sys.stderr,
        )
        return ExitCode.INTERRUPTED
    outcomes = [future.result() for future in futures]
    print_summary(outcomes, names)
    return exit_code(outcomes)


def _wait_or_stop(futures: list[Future[Outcome]], stop: threading.Event) -> bool:
    """Wait for every pipeline; ``True`` when ``stop`` was set first (after a short bound)."""
    while True:
        _, running = wait(futures, timeout=_STOP_CHECK_SECONDS)
        if not running:
            return stop.is_set()
        if stop.is_set():
            wait(futures, timeout=STOP_BOUND_SECONDS)
            return True


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
