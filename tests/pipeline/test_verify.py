"""verify: a successful action is a restore point only once the snapshot read back says so."""

from __future__ import annotations

from datetime import timedelta

import pytest

from snapd.ledger import OperationKind, PendingAction
from snapd.pipeline.outcome import NullOutcomeObserver, OutcomeReason, Result
from snapd.pipeline.verify import CLOCK_SKEW, Verdict, verify
from snapd.pipeline.wait import WaitResult, WaitState
from tests.conftest import START, Pipeline

OLD_SNAPSHOT_ID = 4242


def pending(pipeline: Pipeline, kind: str = OperationKind.SNAPSHOT) -> PendingAction:
    """An attempt begun now over the VM's old snapshot of a day ago."""
    vm = pipeline.fake.vm_ids[0]
    old = START - timedelta(days=1)
    pipeline.fake.set_snapshot(vm, old, snapshot_id=OLD_SNAPSHOT_ID)
    now = pipeline.clock.now()
    return PendingAction(vm, 1, kind, None, now, OLD_SNAPSHOT_ID, old, now)


def judge(pipeline: Pipeline, attempt: PendingAction, state: WaitState) -> Verdict:
    waited = WaitResult(state, None, f"the action ended: {state}")
    return verify(pipeline.client, NullOutcomeObserver(), attempt, waited)


def test_a_success_with_a_new_snapshot_is_verified(pipeline: Pipeline) -> None:
    attempt = pending(pipeline)
    pipeline.fake.set_snapshot(attempt.virtual_machine_id, pipeline.clock.now())

    verdict = judge(pipeline, attempt, WaitState.SUCCESS)

    assert (verdict.result, verdict.reason, verdict.settled) == (
        Result.SUCCESS,
        OutcomeReason.CREATED,
        True,
    )
    assert verdict.new_snapshot is not None
    assert pipeline.fake.count("GET", "/snapshot") == 1


def test_a_success_that_left_the_old_snapshot_is_unverified(pipeline: Pipeline) -> None:
    verdict = judge(pipeline, pending(pipeline), WaitState.SUCCESS)

    assert verdict.result is Result.UNVERIFIED
    assert verdict.detail == "the action succeeded but the snapshot did not change"


def test_a_snapshot_within_the_clock_skew_before_the_attempt_counts_as_new(
    pipeline: Pipeline,
) -> None:
    attempt = pending(pipeline)
    made = attempt.started_at - CLOCK_SKEW
    pipeline.fake.set_snapshot(attempt.virtual_machine_id, made, snapshot_id=OLD_SNAPSHOT_ID)

    assert judge(pipeline, attempt, WaitState.SUCCESS).result is Result.SUCCESS


def test_a_delete_is_verified_only_once_the_snapshot_is_gone(pipeline: Pipeline) -> None:
    attempt = pending(pipeline, OperationKind.DELETE)
    assert judge(pipeline, attempt, WaitState.SUCCESS).result is Result.UNVERIFIED

    pipeline.fake.clear_snapshot(attempt.virtual_machine_id)
    verdict = judge(pipeline, attempt, WaitState.SUCCESS)
    assert (verdict.result, verdict.reason) == (Result.SUCCESS, OutcomeReason.DELETED)


@pytest.mark.parametrize(
    ("state", "result", "settled"),
    [
        (WaitState.ERROR, Result.FAILED, True),
        (WaitState.TIMEOUT, Result.TIMEOUT, False),
        (WaitState.UNAUTHORIZED, Result.FAILED, False),
        (WaitState.STOPPED, Result.INTERRUPTED, False),
    ],
)
def test_a_wait_without_success_is_judged_without_reading_the_snapshot(
    pipeline: Pipeline, state: WaitState, result: Result, settled: bool
) -> None:
    attempt = pending(pipeline)
    pipeline.fake.clear_requests()

    verdict = judge(pipeline, attempt, state)

    assert (verdict.result, verdict.settled) == (result, settled)
    assert pipeline.fake.requests == []


def test_an_action_the_api_forgot_is_adopted_when_the_snapshot_changed(
    pipeline: Pipeline,
) -> None:
    attempt = pending(pipeline)
    pipeline.fake.set_snapshot(attempt.virtual_machine_id, pipeline.clock.now())

    verdict = judge(pipeline, attempt, WaitState.GONE)

    assert (verdict.result, verdict.settled) == (Result.SUCCESS, True)
    assert verdict.detail.endswith("but the snapshot changed: adopted")


def test_an_action_the_api_forgot_is_unverified_when_the_snapshot_did_not_change(
    pipeline: Pipeline,
) -> None:
    verdict = judge(pipeline, pending(pipeline), WaitState.GONE)

    assert (verdict.result, verdict.settled) == (Result.UNVERIFIED, True)
    assert verdict.detail.endswith("the snapshot did not change")
