"""``snapd once``: run the guarded pipeline now for some VMs or all of them."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from snapd.cli.argument_types import add_workers_argument, virtual_machine_reference
from snapd.cli.commands import ExitCode
from snapd.cli.commands.formatting import iso_utc, table
from snapd.cli.commands.loading import refused_token
from snapd.cli.commands.once_wait import PassResults, wait_or_stop
from snapd.config import VirtualMachinePolicy
from snapd.ledger import LedgerError
from snapd.pipeline.outcome import Outcome, OutcomeReason, Result
from snapd.pipeline.workers import DEFAULT_WORKERS

if TYPE_CHECKING:
    from snapd.cli.progress import ProgressLine
    from snapd.notify.notifier import Notifier
    from snapd.runtime import Runtime

#: After Ctrl-C, how long the pipelines get to record where they stand; a pipeline still
#: inside a request after that is left behind (its pending row is already in the ledger).
STOP_BOUND_SECONDS = 2.0
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
    workers: int = DEFAULT_WORKERS,
    progress: ProgressLine | None = None,
) -> int:
    """Run every VM's pipeline (overlapping their waits), print a summary, return the exit code.

    The pipelines run on ``workers`` threads, oldest restore point first; one more thread
    waits for every accepted action, on the runtime's clock.
    ``notifier`` (also the engine's observer) gets each slot's start for the start ping.
    ``stop`` is the Ctrl-C event the pipelines and their clock also watch: once it is set,
    the pipelines get :data:`STOP_BOUND_SECONDS` to record where they stand, and the result
    is :attr:`ExitCode.INTERRUPTED` without waiting for the rest (the caller then leaves
    the process without joining them). ``progress`` is told how many have finished.
    """
    stop = stop or threading.Event()
    fleet = runtime.fleet(workers)
    results = PassResults()
    for index, policy in enumerate(policies):
        started = _started_hook(notifier, policy, dry_run)
        done = results.done_hook(index)
        fleet.submit_slot(policy, None, done, started=started, dry_run=dry_run, force=force)
    if progress is not None:
        progress.start(len(policies))
    waiting = (results.count, len(policies), results.changed, stop, runtime.clock)
    interrupted = wait_or_stop(*waiting, progress.update if progress else None)
    # After a stop the queued pipelines never start; the running ones and the waits the
    # poller hands back get the stop bound to record where they stand.
    fleet.close(cancel_queued=interrupted)
    if interrupted:
        fleet.join(STOP_BOUND_SECONDS)
    if progress is not None:
        progress.close()  # before the summary: the terminal shows both streams
    return _report(runtime, policies, results, interrupted=interrupted)


def _report(
    runtime: Runtime,
    policies: list[VirtualMachinePolicy],
    results: PassResults,
    *,
    interrupted: bool,
) -> int:
    """The summary of a pass and its exit code (see :func:`run_once`)."""
    errors = results.errors
    if errors and not interrupted:
        _report_state_errors(errors)
    outcomes = results.outcomes()
    names = {policy.id: policy.name for policy in policies}
    print_summary(outcomes, names)
    _tell_where_a_refused_token_came_from(runtime, outcomes)
    if errors and not interrupted:
        return ExitCode.FAILURE
    if interrupted:
        print(
            "snapd: interrupted; actions being waited for stay pending in the ledger "
            "and the next run resumes them",
            file=sys.stderr,
        )
        return ExitCode.INTERRUPTED
    return exit_code(outcomes)


def _tell_where_a_refused_token_came_from(runtime: Runtime, outcomes: list[Outcome]) -> None:
    """One line per account whose token the API refused, naming the token's origin (the
    fix is there)."""
    refused = {
        outcome.account: None
        for outcome in outcomes
        if outcome.reason == OutcomeReason.AUTHENTICATION_FAILED
    }
    for account in refused:
        print(f"snapd: error: {refused_token(runtime.config, account)}", file=sys.stderr)


def _started_hook(
    notifier: Notifier | None, policy: VirtualMachinePolicy, dry_run: bool
) -> Callable[[], bool]:
    """The slot's "started": the notifier's start ping, when there is one; it always runs."""

    def started() -> bool:
        if notifier is not None:
            notifier.slot_started(policy, None, dry_run)
        return True

    return started


def _report_state_errors(errors: list[BaseException]) -> None:
    """One ``snapd: error:`` line per run that its state (ledger, lock files) ended: a full
    disk or a database gone fails the slot closed, nothing was sent without its intent.
    Any other error is a bug and is raised."""
    for error in errors:
        if not isinstance(error, LedgerError | OSError):
            raise error
    for error in errors:
        text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        print(f"snapd: error: {' '.join(text.split())}", file=sys.stderr)


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


def run(arguments: argparse.Namespace) -> int:
    """``snapd once``, as parsed: every check of ``config validate`` first."""
    from snapd.cli.commands.loading import load_ready, resolve_all
    from snapd.cli.processes import once

    config = load_ready(arguments)
    return once(arguments, config, resolve_all(config, arguments.vm_ids))


def add_arguments(commands: Any, config_option: argparse.ArgumentParser) -> None:
    """The grammar of ``snapd once``."""
    once = commands.add_parser(
        "once",
        parents=[config_option],
        help="run the guarded snapshot pipeline now",
        description="Run the guarded pipeline now for the given VMs (or --all) and wait for "
        "the result. Exit 0 when every VM got a verified snapshot (or, with --dry-run, "
        "every decision was made), 1 when any failed, 3 when a guard skipped any and none "
        "failed, 130 on Ctrl-C (an action being waited for stays pending; the next run "
        "resumes it). Notifications still being sent at the end get a bounded wait: three "
        "times the slowest target's timeout plus 3 s of backoff, at most 60 s. On a "
        "terminal whose logs are not JSON, a line on standard error shows the VMs done of "
        "all, the 429 answers and the expected finish.",
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
