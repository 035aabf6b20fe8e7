"""FleetRunner: slots queued on the workers, their waits on one poller, outcomes delivered."""

from __future__ import annotations

import threading

import pytest
import structlog

from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.outcome import Result
from tests.conftest import Pipeline, make_policy
from tests.support.fleet import Collected

# The poller's waits end as soon as it starts them: its time is driven.
pytestmark = pytest.mark.usefixtures("drive_poller")


def test_every_submitted_slot_delivers_its_outcome_once(pipeline: Pipeline) -> None:
    fleet = FleetRunner(pipeline.engine, workers=2)
    collected = Collected()

    for vm in pipeline.fake.vm_ids:
        fleet.submit_slot(make_policy(vm), None, collected.done)
    collected.wait_for(len(pipeline.fake.vm_ids))
    fleet.close()

    assert sorted(outcome.virtual_machine_id for outcome in collected.outcomes) == sorted(
        pipeline.fake.vm_ids
    )
    assert {outcome.result for outcome in collected.outcomes} == {Result.SUCCESS}
    assert pipeline.creates() == len(pipeline.fake.vm_ids)


def test_a_queue_longer_than_the_workers_announces_a_pass_once(pipeline: Pipeline) -> None:
    fleet = FleetRunner(pipeline.engine, workers=1, requests_per_minute=60)
    release = threading.Event()
    fleet.pool.submit(lambda: release.wait(30) and None)  # the one worker is busy
    collected = Collected()
    with structlog.testing.capture_logs() as logs:
        for vm in pipeline.fake.vm_ids:
            fleet.submit_slot(make_policy(vm), None, collected.done)
        release.set()
        collected.wait_for(len(pipeline.fake.vm_ids))
    fleet.close()

    passes = [line for line in logs if line["event"] == "pass_started"]
    assert len(passes) == 1
    assert passes[0]["workers"] == 1 and passes[0]["requests_per_minute"] == 60


def test_a_closed_fleet_takes_no_new_slot(pipeline: Pipeline) -> None:
    fleet = FleetRunner(pipeline.engine, workers=1)
    fleet.close()

    with pytest.raises(RuntimeError, match="closed"):
        fleet.submit_slot(make_policy(pipeline.fake.vm_ids[0]), None, Collected().done)
    assert pipeline.creates() == 0
