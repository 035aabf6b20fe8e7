"""AttemptRunner: intent, send once, resolve or wait, judge, record: one path for all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from snapd.fakeapi import Fault
from snapd.ledger import OperationKind
from snapd.pipeline.attempt import AttemptRunner
from snapd.pipeline.attempt_terms import AttemptContext
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import NullOutcomeObserver, OutcomeReason, Result, SnapshotState
from snapd.pipeline.send import Refusal
from snapd.pipeline.wait import PollSettings
from tests.conftest import START, Pipeline, make_policy

POLL = PollSettings(first_delay=10.0, minimum_delay=1.0, maximum_delay=60.0)


@pytest.fixture
def runner(pipeline: Pipeline) -> AttemptRunner:
    return AttemptRunner(
        pipeline.client, pipeline.ledger, pipeline.clock, NullOutcomeObserver(),
        poll=POLL, should_stop=lambda: False,
    )  # fmt: skip


def create(pipeline: Pipeline) -> tuple[AttemptContext, SnapshotState]:
    """A create over the first VM's snapshot of two days ago."""
    vm = pipeline.fake.vm_ids[0]
    made = START - timedelta(days=2)
    old = pipeline.fake.set_snapshot(vm, made)
    context = AttemptContext(make_policy(vm), OperationKind.SNAPSHOT, START, pipeline.clock.now())
    return context, SnapshotState(int(old["id"]), made, None)


def test_a_create_is_sent_once_waited_for_verified_and_recorded(
    pipeline: Pipeline, runner: AttemptRunner
) -> None:
    context, old = create(pipeline)

    outcome = runner.start(context, old)

    assert (outcome.result, outcome.reason) == (Result.SUCCESS, OutcomeReason.CREATED)
    assert pipeline.creates() == 1
    vm = context.policy.id
    assert pipeline.ledger.pending_for(vm) is None
    (recorded,) = pipeline.ledger.history(vm)
    assert recorded.outcome is Result.SUCCESS
    assert recorded.old_snapshot_id == old.id


def test_an_ambiguous_create_is_resolved_by_looking_and_never_sent_again(
    pipeline: Pipeline, runner: AttemptRunner
) -> None:
    context, old = create(pipeline)
    pipeline.fake.inject(Fault(kind="accept_then_drop", endpoint="create_snapshot", count=1))

    outcome = runner.start(context, old)

    assert outcome.result is Result.SUCCESS
    assert pipeline.creates() == 1


def test_a_stop_before_sending_records_nothing_and_leaves_no_intent(
    pipeline: Pipeline, runner: AttemptRunner
) -> None:
    context, old = create(pipeline)
    runner.should_stop = lambda: True

    outcome = runner.start(context, old)

    assert outcome.result is Result.INTERRUPTED
    assert pipeline.creates() == 0
    assert pipeline.ledger.pending_for(context.policy.id) is None
    assert pipeline.ledger.history(context.policy.id) == []


def test_an_action_that_never_finishes_times_out_and_its_intent_stays_for_the_next_run(
    pipeline: Pipeline, runner: AttemptRunner
) -> None:
    context, old = create(pipeline)
    pipeline.fake.inject(Fault(kind="action_never_finishes", endpoint="create_snapshot"))

    outcome = runner.start(context, old)

    assert outcome.result is Result.TIMEOUT
    pending = pipeline.ledger.pending_for(context.policy.id)
    assert pending is not None and pending.action_id == outcome.action_id


def test_a_refused_resend_ends_the_attempt_and_removes_its_intent(
    pipeline: Pipeline, runner: AttemptRunner
) -> None:
    context, old = create(pipeline)
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=1, status=409))
    refusal = Refusal(Result.SKIPPED, Reason.HELD, "a hold was placed meanwhile")

    outcome = runner.start(context, old, recheck=lambda: refusal)

    assert (outcome.result, outcome.reason) == (Result.SKIPPED, Reason.HELD)
    assert pipeline.creates() == 1
    assert pipeline.ledger.pending_for(context.policy.id) is None
