"""Under load the oldest restore point goes first, and a large pass says when it will end."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import structlog

from snapd.clock import ManualClock, utc_text
from snapd.fakeapi import FakeHostinger
from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.outcome import Result
from snapd.pipeline.urgency import Urgency
from tests.conftest import START, Pipeline, make_policy
from tests.support.fleet import Collected

# The poller's waits end as soon as it starts them: its time is driven.
pytestmark = pytest.mark.usefixtures("drive_poller")


def test_with_one_worker_the_oldest_restore_point_is_created_first(
    pipeline: Pipeline, fake: FakeHostinger, clock: ManualClock
) -> None:
    one_day, two_days = fake.vm_ids[0], fake.vm_ids[1]
    never = fake.vm_ids[2]  # no success known: the most urgent
    urgency = Urgency({one_day: START - timedelta(days=1), two_days: START - timedelta(days=2)})
    fleet = FleetRunner(pipeline.engine, workers=1, urgency=urgency, requests_per_minute=60)
    busy = threading.Event()
    fleet.pool.submit(lambda: busy.wait(30))  # the one worker is busy while the pass queues
    collected = Collected()
    with structlog.testing.capture_logs() as logs:
        for vm in (one_day, two_days, never):  # newest first
            fleet.submit_slot(make_policy(vm), None, collected.done)
        busy.set()
        collected.wait_for(3)
    fleet.close()

    assert {outcome.result for outcome in collected.outcomes} == {Result.SUCCESS}
    creates = fake.requests_matching("POST", "/snapshot")
    order = [int(request.path.split("/")[-2]) for request in creates]
    assert order == [never, two_days, one_day]
    started = [line for line in logs if line["event"] == "pass_started"]
    assert len(started) == 1
    # Two VMs still queued behind the first: eight calls at 60 requests a minute.
    assert started[0]["queued"] == 2
    assert started[0]["expected_finish"] == utc_text(START + timedelta(seconds=8))


def test_a_slot_queued_much_later_does_not_overtake_a_waiting_one() -> None:
    policy = make_policy(1)
    urgency = Urgency({1: START - timedelta(days=10), 2: START})
    waiting = urgency.priority(policy, START)
    # A VM that never succeeded, queued five hours later, no longer goes first.
    latecomer = urgency.priority(make_policy(2), START + timedelta(hours=5))
    assert waiting < latecomer
    # Queued a minute later, the most urgent VM still does.
    assert urgency.priority(make_policy(3), START + timedelta(minutes=1)) < waiting
