"""Recorder: every outcome is logged and reported; its ledger row settles the pending one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from snapd.ledger import LedgerError, OperationKind, PendingAction
from snapd.pipeline.outcome import Outcome, OutcomeReason, Result, SnapshotState, StateOperation
from snapd.pipeline.record import Recorder, attempt_record
from tests.conftest import START, Pipeline, RecordingObserver, make_policy


class StateErrors(RecordingObserver):
    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__(outcomes)
        self.errors: list[StateOperation] = []

    def state_error(self, operation: StateOperation) -> None:
        self.errors.append(operation)


@pytest.fixture
def observer() -> StateErrors:
    return StateErrors([])


@pytest.fixture
def recorder(pipeline: Pipeline, observer: StateErrors) -> Recorder:
    return Recorder(pipeline.ledger, pipeline.clock, observer)


def test_an_outcome_is_recorded_reported_and_settles_its_pending_row(
    pipeline: Pipeline, recorder: Recorder, observer: StateErrors
) -> None:
    vm = pipeline.fake.vm_ids[0]
    pending = PendingAction(vm, 9, OperationKind.SNAPSHOT, START, START)
    pipeline.ledger.add_pending(pending)
    new = SnapshotState(12, START + timedelta(minutes=1), None)

    outcome = recorder.finish(
        make_policy(vm), OperationKind.SNAPSHOT, START, START, Result.SUCCESS,
        OutcomeReason.CREATED, "verified", new=new, action_id=9, settles=pending,
    )  # fmt: skip

    assert observer.outcomes == [outcome]
    assert pipeline.ledger.pending_for(vm) is None
    (row,) = pipeline.ledger.history(vm)
    assert replace(row, id=None) == attempt_record(outcome)
    assert (row.outcome, row.action_id) == (Result.SUCCESS, 9)


def test_an_outcome_not_to_record_is_reported_without_a_ledger_row(
    pipeline: Pipeline, recorder: Recorder, observer: StateErrors
) -> None:
    vm = pipeline.fake.vm_ids[0]

    recorder.finish(
        make_policy(vm), OperationKind.SNAPSHOT, START, START, Result.INTERRUPTED,
        OutcomeReason.INTERRUPTED, "stopping", record=False,
    )  # fmt: skip

    assert len(observer.outcomes) == 1
    assert pipeline.ledger.history(vm) == []


def test_a_ledger_that_cannot_take_the_row_turns_a_success_into_a_state_error(
    pipeline: Pipeline,
    recorder: Recorder,
    observer: StateErrors,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full_disk(*arguments: object) -> int:
        raise LedgerError("database or disk is full")

    monkeypatch.setattr(pipeline.ledger, "record_attempt", full_disk)
    vm = pipeline.fake.vm_ids[0]

    outcome = recorder.finish(
        make_policy(vm), OperationKind.SNAPSHOT, START, START, Result.SUCCESS,
        OutcomeReason.CREATED, "verified",
    )  # fmt: skip

    assert (outcome.result, outcome.reason) == (Result.FAILED, OutcomeReason.STATE_ERROR)
    assert "could not be recorded: database or disk is full" in outcome.detail
    assert observer.errors == [StateOperation.RECORD]
    assert observer.outcomes == [outcome]
