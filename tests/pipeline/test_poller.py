"""Many slots in flight at once: a small pool of workers and one poller, not a thread per VM."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault
from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.outcome import Outcome, Result
from tests.conftest import TOKEN, FakeMaker, FakeSettings, Pipeline, build_pipeline, make_policy
from tests.support.clock_driver import PollerClockDriver
from tests.support.fleet import Collected, wait_until

FLEET = 200
THREAD_LIMIT = 64


@pytest.fixture
def big_fake(make_fake: FakeMaker) -> FakeHostinger:
    """The fake API with a fleet whose actions take ten minutes."""
    return make_fake(FakeSettings(token=TOKEN, vm_count=FLEET, action_seconds=600.0, seed=3))


@pytest.fixture
def fleet_pipeline(
    big_fake: FakeHostinger, clock: ManualClock, tmp_path: Path
) -> Iterator[Pipeline]:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    built = build_pipeline(big_fake, clock, state_dir)
    yield built
    built.client.close()
    built.ledger.close()


def stop_while_in_flight(
    fleet: FleetRunner, vms: list[int], stop: threading.Event, gate: PollerClockDriver
) -> Collected:
    """Run ``vms`` on ``fleet`` and set ``stop`` once every action is in flight."""
    collected = Collected()
    for vm in vms:
        fleet.submit_slot(make_policy(vm), None, collected.done)
    wait_until(lambda: fleet.poller.in_flight() == len(vms), "the actions to be in flight")
    stop.set()
    gate.open.set()
    collected.wait_for(len(vms))
    return collected


def assert_adopted_on(
    fleet: FleetRunner, pipeline: Pipeline, fake: FakeHostinger, vms: list[int]
) -> None:
    """Run ``vms`` again on ``fleet``: each pending action ends in success, no new POST."""
    resumed = Collected()
    for vm in vms:
        fleet.submit_slot(make_policy(vm), None, resumed.done)
    resumed.wait_for(len(vms))
    fleet.close()
    assert {outcome.result for outcome in resumed.outcomes} == {Result.SUCCESS}
    assert fake.count("POST", "/snapshot") == len(vms)  # adopted, never sent again
    for vm in vms:
        assert pipeline.ledger.pending_for(vm) is None


def test_two_hundred_slots_in_flight_use_a_bounded_number_of_threads(
    fleet_pipeline: Pipeline, big_fake: FakeHostinger, gate: PollerClockDriver
) -> None:
    fleet = FleetRunner(
        fleet_pipeline.engine,
        workers=16,
    )
    collected = Collected()
    for vm in big_fake.vm_ids:
        fleet.submit_slot(make_policy(vm), None, collected.done)
    wait_until(lambda: fleet.poller.in_flight() == FLEET, "every action to be in flight")
    in_flight_threads = threading.active_count()
    assert fleet.pool.busy() == 0  # no worker holds a VM whose action runs
    gate.open.set()
    collected.wait_for(FLEET)
    fleet.close()

    assert in_flight_threads <= THREAD_LIMIT
    assert {outcome.result for outcome in collected.outcomes} == {Result.SUCCESS}
    assert all(outcome.new_snapshot is not None for outcome in collected.outcomes)
    posts = big_fake.requests_matching("POST", "/snapshot")
    assert sorted(int(request.path.split("/")[-2]) for request in posts) == sorted(big_fake.vm_ids)
    for vm in big_fake.vm_ids:
        assert [row.outcome for row in fleet_pipeline.ledger.history(vm)] == ["success"]
        assert fleet_pipeline.ledger.pending_for(vm) is None


def test_a_stop_while_actions_are_in_flight_keeps_them_pending_for_the_next_run(
    fleet_pipeline: Pipeline, big_fake: FakeHostinger, gate: PollerClockDriver
) -> None:
    vms = big_fake.vm_ids[:5]
    stop = threading.Event()
    fleet_pipeline.engine.should_stop = stop.is_set
    fleet = FleetRunner(
        fleet_pipeline.engine,
        workers=2,
    )
    with structlog.testing.capture_logs() as logs:
        collected = stop_while_in_flight(fleet, vms, stop, gate)
        fleet.close()
    assert {outcome.result for outcome in collected.outcomes} == {Result.INTERRUPTED}
    finished = [line for line in logs if line["event"] == "snapshot_finished"]
    assert sorted(line["vm"] for line in finished) == sorted(vms)
    for vm in vms:
        pending = fleet_pipeline.ledger.pending_for(vm)
        assert pending is not None and pending.action_id is not None
    assert big_fake.count("POST", "/snapshot") == len(vms)

    fleet_pipeline.engine.should_stop = lambda: False
    again = FleetRunner(fleet_pipeline.engine, workers=2)
    assert_adopted_on(again, fleet_pipeline, big_fake, vms)


def test_an_ambiguous_create_is_resolved_by_the_poller_not_by_a_sleeping_worker(
    pipeline: Pipeline, fake: FakeHostinger, gate: PollerClockDriver
) -> None:
    unknown, other = fake.vm_ids[0], fake.vm_ids[1]
    fake.inject(Fault(kind="status", endpoint="create_snapshot", count=1, status=500))
    fleet = FleetRunner(
        pipeline.engine,
        workers=1,
    )
    collected = Collected()
    fleet.submit_slot(make_policy(unknown), None, collected.done)  # its create gets the 500
    fleet.submit_slot(make_policy(other), None, collected.done)
    # The one worker sent both: the intent being resolved does not hold it.
    wait_until(lambda: fleet.poller.in_flight() == 2, "the intent and the action in flight")
    assert fleet.pool.busy() == 0
    gate.open.set()
    collected.wait_for(2)
    fleet.close()
    results = {outcome.virtual_machine_id: outcome.result for outcome in collected.outcomes}
    assert results == {unknown: Result.AMBIGUOUS, other: Result.SUCCESS}
    assert pipeline.creates() == 2  # the ambiguous create was never sent again


def test_a_defect_after_the_wait_reaches_done_and_releases_the_vm(
    pipeline: Pipeline, fake: FakeHostinger, drive_poller: PollerClockDriver
) -> None:
    vm = fake.vm_ids[0]
    judge = pipeline.engine.attempts._judge

    def broken(*arguments: object) -> Outcome:
        raise RuntimeError("a defect while verifying")

    pipeline.engine.attempts._judge = broken  # type: ignore[method-assign]
    fleet = FleetRunner(pipeline.engine, workers=1)
    collected = Collected()
    fleet.submit_slot(make_policy(vm), None, collected.done)
    with collected.changed:
        assert collected.changed.wait_for(lambda: collected.errors, timeout=30)
    assert str(collected.errors[0]) == "a defect while verifying"
    pipeline.engine.attempts._judge = judge  # type: ignore[method-assign]
    # The VM's lock is free again: the next run adopts the pending action, sends nothing.
    assert pipeline.engine.start_slot(make_policy(vm), None).result().result is Result.SUCCESS
    assert pipeline.creates() == 1
    fleet.close()


def test_a_runner_that_was_told_to_stop_waits_again_once_it_may_go_on(
    fleet_pipeline: Pipeline, big_fake: FakeHostinger, gate: PollerClockDriver
) -> None:
    """A replica that loses the lead (``should_stop``) and wins it back keeps its runner:
    the waits it then hands over must be polled, not ended as stopped at once."""
    vms = big_fake.vm_ids[:3]
    standing_by = threading.Event()
    fleet_pipeline.engine.should_stop = standing_by.is_set
    fleet = FleetRunner(
        fleet_pipeline.engine,
        workers=2,
    )
    lost = stop_while_in_flight(fleet, vms, standing_by, gate)
    assert {outcome.result for outcome in lost.outcomes} == {Result.INTERRUPTED}

    standing_by.clear()  # the lead is back
    assert_adopted_on(fleet, fleet_pipeline, big_fake, vms)
