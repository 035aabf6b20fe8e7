"""Recording an outcome: the ledger row, one log line and the observer, in that order.

Shared by the scheduled pipeline and the operator's restore and delete, so that every
operation on a restore point leaves the same trail.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import structlog

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.ledger import (
    AttemptRecord,
    Ledger,
    LedgerError,
    NotLeaderError,
    OperationKind,
    PendingAction,
)
from snapd.pipeline.outcome import (
    AnyReason,
    Outcome,
    OutcomeObserver,
    OutcomeReason,
    Result,
    SnapshotState,
    StateOperation,
)

log = structlog.get_logger("snapd.recording")

# Outcomes that are part of normal operation; the others are logged as warnings.
UNREMARKABLE = (Result.SUCCESS, Result.SKIPPED, Result.DRY_RUN, Result.INTERRUPTED)


class Recorder:
    """Builds outcomes and reports them."""

    def __init__(self, ledger: Ledger, clock: Clock, observer: OutcomeObserver) -> None:
        self.ledger = ledger
        self.clock = clock
        self.observer = observer

    def finish(  # noqa: PLR0913 - the fields of an outcome, most keyword-only
        self,
        policy: VirtualMachinePolicy,
        kind: OperationKind,
        slot: datetime | None,
        started: datetime,
        result: Result,
        reason: AnyReason,
        detail: str,
        *,
        old: SnapshotState | None = None,
        new: SnapshotState | None = None,
        action_id: int | None = None,
        correlation_id: str | None = None,
        dry_run: bool = False,
        record: bool = True,
        settles: PendingAction | None = None,
    ) -> Outcome:
        """Build the outcome (finished now) and report it; the ledger row only if ``record``.

        ``settles``: the pending row this outcome ends, removed in the same transaction
        as the ledger row is written.

        When the ledger row cannot be written (a full disk, a database gone), the outcome
        reported and returned is a failure (reason ``state_error`` unless it failed
        already) whose detail names the real error and what the attempt had ended with;
        the pending row, if any, stays, so the action is followed again by observation,
        never sent again. Never raises for that; ``NotLeaderError`` (another replica leads
        now) is raised as ever.
        """
        outcome = Outcome(
            virtual_machine_id=policy.id,
            kind=kind,
            slot=slot,
            result=result,
            reason=reason,
            detail=detail,
            started_at=started,
            finished_at=self.clock.now(),
            action_id=action_id,
            old_snapshot=old,
            new_snapshot=new,
            correlation_id=correlation_id,
            dry_run=dry_run,
            account=policy.account,
        )
        if record:
            try:
                self.ledger.record_attempt(attempt_record(outcome), settles)
            except NotLeaderError:
                raise  # not a state error: another replica leads now and resumes the action
            except LedgerError as error:
                outcome = self._not_recorded(outcome, error)
        _log(outcome)
        self.observer.outcome(outcome)
        return outcome

    def _not_recorded(self, outcome: Outcome, error: LedgerError) -> Outcome:
        """The failure that replaces an ``outcome`` the ledger could not take."""
        log.error(
            "state_error",
            vm=outcome.virtual_machine_id,
            slot=outcome.slot,
            operation=StateOperation.RECORD.value,
            error=str(error),
            unrecorded_result=outcome.result.value,
        )
        self.observer.state_error(StateOperation.RECORD)
        if outcome.result is Result.FAILED:  # its own reason stays: it says more
            return replace(outcome, detail=f"{outcome.detail}; not recorded either: {error}")
        detail = (
            f"the outcome ({outcome.result.value}: {outcome.reason}) could not be recorded: {error}"
        )
        return replace(
            outcome, result=Result.FAILED, reason=OutcomeReason.STATE_ERROR, detail=detail
        )


def _log(outcome: Outcome) -> None:
    """The outcome's one log line: ``snapshot_finished``, ``restore_finished``, ..."""
    log_method = log.info if outcome.result in UNREMARKABLE else log.warning
    # With several accounts the line names the VM's (also when no slot context is bound:
    # a resumed action's continuation).
    account = {"account": outcome.account} if outcome.account else {}
    log_method(
        f"{outcome.kind}_finished",
        **account,
        vm=outcome.virtual_machine_id,
        slot=outcome.slot,
        result=outcome.result.value,
        reason=outcome.reason,
        detail=outcome.detail,
        action_id=outcome.action_id,
        correlation_id=outcome.correlation_id,
        seconds=round(outcome.seconds, 3),
        dry_run=outcome.dry_run,
    )


def attempt_record(outcome: Outcome) -> AttemptRecord:
    """The ledger row of an outcome."""
    old, new = outcome.old_snapshot, outcome.new_snapshot
    return AttemptRecord(
        virtual_machine_id=outcome.virtual_machine_id,
        kind=outcome.kind,
        slot=outcome.slot,
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        outcome=outcome.result,
        reason=outcome.reason,
        action_id=outcome.action_id,
        old_snapshot_id=old.id if old else None,
        old_snapshot_created_at=old.created_at if old else None,
        new_snapshot_id=new.id if new else None,
        new_snapshot_created_at=new.created_at if new else None,
        correlation_id=outcome.correlation_id,
        dry_run=outcome.dry_run,
        account=outcome.account,
    )
