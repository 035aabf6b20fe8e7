"""Operations: an operator's restore and delete, over the snapshot the operator confirmed."""

from __future__ import annotations

from datetime import timedelta

from snapd.ledger import OperationKind, PendingAction
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import OutcomeReason, Result, SnapshotState
from tests.conftest import START, Pipeline, make_policy


def confirmed(pipeline: Pipeline) -> SnapshotState:
    """The first VM's snapshot, as shown to the operator."""
    vm = pipeline.fake.vm_ids[0]
    pipeline.fake.set_snapshot(vm, START - timedelta(days=1))
    shown = pipeline.operations.current_snapshot(vm)
    assert shown is not None
    return shown


def test_a_restore_of_the_confirmed_snapshot_is_sent_once_and_holds_the_vm(
    pipeline: Pipeline,
) -> None:
    snapshot = confirmed(pipeline)
    vm = pipeline.fake.vm_ids[0]

    outcome = pipeline.operations.restore(make_policy(vm), snapshot)

    assert (outcome.result, outcome.reason) == (Result.SUCCESS, OutcomeReason.RESTORED)
    assert pipeline.fake.count("POST", "/snapshot/restore") == 1
    hold = pipeline.ledger.active_hold(vm, pipeline.clock.now())
    assert hold is not None and hold.reason == "restored from snapshot"


def test_a_delete_is_verified_by_the_snapshot_being_gone(pipeline: Pipeline) -> None:
    snapshot = confirmed(pipeline)
    vm = pipeline.fake.vm_ids[0]

    outcome = pipeline.operations.delete(make_policy(vm), snapshot)

    assert (outcome.result, outcome.reason) == (Result.SUCCESS, OutcomeReason.DELETED)
    assert pipeline.fake.snapshot_of(vm) is None


def test_a_snapshot_that_changed_since_it_was_shown_is_not_touched(pipeline: Pipeline) -> None:
    snapshot = confirmed(pipeline)
    vm = pipeline.fake.vm_ids[0]
    pipeline.fake.set_snapshot(vm, START - timedelta(hours=1))

    outcome = pipeline.operations.delete(make_policy(vm), snapshot)

    assert (outcome.result, outcome.reason) == (Result.FAILED, OutcomeReason.SNAPSHOT_CHANGED)
    assert pipeline.fake.count("DELETE") == 0


def test_an_unresolved_earlier_action_blocks_the_operation(pipeline: Pipeline) -> None:
    snapshot = confirmed(pipeline)
    vm = pipeline.fake.vm_ids[0]
    earlier = PendingAction(vm, None, OperationKind.SNAPSHOT, None, pipeline.clock.now())
    pipeline.ledger.add_pending(earlier)

    outcome = pipeline.operations.restore(make_policy(vm), snapshot)

    assert (outcome.result, outcome.reason) == (Result.FAILED, Reason.OPERATION_IN_PROGRESS)
    assert pipeline.fake.count("POST") == 0
