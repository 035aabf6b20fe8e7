"""Re-checks: before a request goes out again, the guards are asked again on fresh reads."""

from __future__ import annotations

from datetime import timedelta

from snapd.ledger import Hold, OperationKind, PendingAction
from snapd.pipeline.decide import Facts, Reason
from snapd.pipeline.outcome import NullOutcomeObserver, OutcomeReason, Result, SnapshotState
from snapd.pipeline.recheck import CreateRecheck, IntentRecheck, OperationRecheck
from snapd.pipeline.send import NotYet, Proceed, Refusal
from tests.conftest import START, Pipeline, make_policy


def create_recheck(pipeline: Pipeline) -> CreateRecheck:
    """The re-check of a scheduled create of the first VM, whose snapshot is two days old."""
    vm = pipeline.fake.vm_ids[0]
    pipeline.fake.set_snapshot(vm, START - timedelta(days=2))
    checked = Facts(
        now=pipeline.clock.now(), virtual_machine_state="running", actions_locked=False,
        snapshot_created_at=START - timedelta(days=2), snapshot_made_by_snapd=False,
        snapshot_present=True,
    )  # fmt: skip
    return CreateRecheck(
        pipeline.client, pipeline.ledger, pipeline.clock, NullOutcomeObserver(),
        make_policy(vm, protect_manual=timedelta(0)), START, checked, force=False,
    )  # fmt: skip


def test_a_create_whose_guards_still_hold_proceeds_over_the_snapshot_read_again(
    pipeline: Pipeline,
) -> None:
    recheck = create_recheck(pipeline)

    answer = recheck()

    assert isinstance(answer, Proceed)
    assert answer.snapshot is not None
    assert answer.snapshot.created_at == START - timedelta(days=2)
    vm = recheck.policy.id
    assert pipeline.fake.count("GET", f"/virtual-machines/{vm}") == 1  # the VM read alone


def test_a_hold_placed_meanwhile_refuses_the_resend(pipeline: Pipeline) -> None:
    recheck = create_recheck(pipeline)
    now = pipeline.clock.now()
    hold = Hold(recheck.policy.id, now + timedelta(hours=1), "maintenance", now)
    pipeline.ledger.set_hold(hold)

    answer = recheck()

    assert isinstance(answer, Refusal)
    assert (answer.result, answer.reason) == (Result.SKIPPED, Reason.HELD)


def test_a_vm_stopped_meanwhile_refuses_the_resend(pipeline: Pipeline) -> None:
    recheck = create_recheck(pipeline)
    pipeline.fake.set_vm_state(recheck.policy.id, "stopped")

    answer = recheck()

    assert isinstance(answer, Refusal)
    assert answer.reason is Reason.VM_STATE_NOT_ALLOWED


def test_a_vm_still_busy_means_look_again_later(pipeline: Pipeline) -> None:
    recheck = create_recheck(pipeline)
    pipeline.fake.set_actions_lock(recheck.policy.id, "locked")

    assert isinstance(recheck(), NotYet)


def test_an_operation_over_a_snapshot_that_changed_is_refused(pipeline: Pipeline) -> None:
    vm = pipeline.fake.vm_ids[0]
    confirmed = pipeline.fake.set_snapshot(vm, START - timedelta(days=2))
    expected = SnapshotState(int(confirmed["id"]), START - timedelta(days=2), None)
    pipeline.fake.set_snapshot(vm, START - timedelta(hours=1))  # taken by hand meanwhile

    answer = OperationRecheck(pipeline.client, NullOutcomeObserver(), vm, expected)()

    assert isinstance(answer, Refusal)
    assert (answer.result, answer.reason) == (Result.FAILED, OutcomeReason.SNAPSHOT_CHANGED)


def test_an_intent_replaced_by_another_writer_refuses_and_keeps_its_row(
    pipeline: Pipeline,
) -> None:
    vm = pipeline.fake.vm_ids[0]
    now = pipeline.clock.now()
    ours = PendingAction(vm, None, OperationKind.SNAPSHOT, START, now)
    theirs = PendingAction(vm, None, OperationKind.DELETE, None, now + timedelta(seconds=1))
    pipeline.ledger.add_pending(theirs)
    asked: list[str] = []

    answer = IntentRecheck(pipeline.ledger, ours, lambda: asked.append("kind") or Proceed(None))()

    assert isinstance(answer, Refusal)
    assert (answer.reason, answer.settles) == (Reason.OPERATION_IN_PROGRESS, False)
    assert asked == []  # the kind's own re-check is not even asked
    assert pipeline.ledger.pending_for(vm) == theirs


def test_a_resend_over_another_snapshot_records_that_snapshot_in_the_intent(
    pipeline: Pipeline,
) -> None:
    vm = pipeline.fake.vm_ids[0]
    intent = PendingAction(vm, None, OperationKind.SNAPSHOT, START, pipeline.clock.now())
    pipeline.ledger.add_pending(intent)
    newer = SnapshotState(77, START - timedelta(hours=1), None)

    answer = IntentRecheck(pipeline.ledger, intent, lambda: Proceed(newer))()

    assert isinstance(answer, Proceed)
    stored = pipeline.ledger.pending_for(vm)
    assert stored is not None
    assert (stored.old_snapshot_id, stored.old_snapshot_created_at) == (77, newer.created_at)
