"""IdleLook: a slot's look at its VM, again while it is busy, within busy_timeout."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from snapd.checks.result import HookResult
from snapd.config.model import HookCommand
from snapd.fakeapi import Fault
from snapd.ledger import OperationKind
from snapd.pipeline.attempt_terms import AttemptContext
from snapd.pipeline.decide import Step
from snapd.pipeline.fleet_view import FleetView
from snapd.pipeline.look import IdleLook
from snapd.pipeline.outcome import NullOutcomeObserver, Outcome, OutcomeReason, Result
from snapd.pipeline.record import Recorder
from snapd.pipeline.slot_end import SlotEnd
from tests.conftest import START, Pipeline, make_policy

BUSY_TIMEOUT = timedelta(minutes=10)


def no_hook(command: HookCommand, environment: Mapping[str, str]) -> HookResult:
    raise AssertionError("no hook is configured")


@pytest.fixture
def look(pipeline: Pipeline) -> IdleLook:
    observer = NullOutcomeObserver()
    end = SlotEnd(Recorder(pipeline.ledger, pipeline.clock, observer), observer, no_hook)
    fleet = FleetView(pipeline.client, pipeline.clock)
    return IdleLook(
        pipeline.client, pipeline.ledger, observer, fleet, pipeline.clock, lambda: False, end
    )


def context(pipeline: Pipeline) -> AttemptContext:
    vm = pipeline.fake.vm_ids[0]
    pipeline.fake.set_snapshot(vm, START - timedelta(days=2))
    policy = make_policy(vm, busy_timeout=BUSY_TIMEOUT)
    return AttemptContext(policy, OperationKind.SNAPSHOT, START, pipeline.clock.now())


def test_an_idle_vm_is_decided_on_at_the_first_look(pipeline: Pipeline, look: IdleLook) -> None:
    looked = look(context(pipeline), dry_run=False, force=False)

    assert not isinstance(looked, Outcome)
    preflight, _, decision = looked
    assert decision.action is Step.CREATE
    assert preflight.snapshot is not None


def test_a_vm_busy_past_busy_timeout_ends_the_slot_as_busy_timeout(
    pipeline: Pipeline, look: IdleLook
) -> None:
    attempt = context(pipeline)
    pipeline.fake.set_actions_lock(attempt.policy.id, "locked")

    looked = look(attempt, dry_run=False, force=False)

    assert isinstance(looked, Outcome)
    assert (looked.result, looked.reason) == (Result.FAILED, OutcomeReason.BUSY_TIMEOUT)
    assert pipeline.clock.now() - attempt.started <= BUSY_TIMEOUT  # waited in virtual time
    vm = attempt.policy.id
    assert pipeline.fake.count("GET", f"/virtual-machines/{vm}") > 1  # looked again, alone
    assert pipeline.creates() == 0


def test_a_rehearsal_does_not_wait_for_a_busy_vm(pipeline: Pipeline, look: IdleLook) -> None:
    attempt = context(pipeline)
    pipeline.fake.set_actions_lock(attempt.policy.id, "locked")

    looked = look(attempt, dry_run=True, force=False)

    assert isinstance(looked, Outcome)
    assert looked.result is Result.SKIPPED
    assert pipeline.clock.now() == attempt.started


def test_a_failed_pre_flight_ends_the_slot_with_the_errors_reason(
    pipeline: Pipeline, look: IdleLook
) -> None:
    attempt = context(pipeline)
    pipeline.fake.inject(Fault(kind="status", endpoint="get_snapshot", status=401, count=None))

    looked = look(attempt, dry_run=False, force=False)

    assert isinstance(looked, Outcome)
    assert (looked.result, looked.reason) == (Result.FAILED, OutcomeReason.AUTHENTICATION_FAILED)
    assert looked.detail.startswith("pre-flight failed:")
