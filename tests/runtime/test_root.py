"""The composition root builds the fleet runner, and a slot starts one way through it.

The runtime is built as ``once`` and the daemon build theirs, handed the test's manual
clock and the in-process fake API's base URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.fakeapi import FakeHostinger
from snapd.pipeline.outcome import Result
from snapd.runtime import Runtime, open_runtime
from tests.conftest import TOKEN
from tests.support.fleet import Collected

# The poller's waits end as soon as it starts them: its time is driven.
pytestmark = pytest.mark.usefixtures("drive_poller")


@pytest.fixture
def runtime(fake: FakeHostinger, clock: ManualClock, tmp_path: Path) -> Iterator[Runtime]:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"api: {{base_url: '{fake.base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
        'defaults: {schedule: "0 3 * * *"}\n'
        f"vms:\n  - {{id: {fake.vm_ids[0]}}}\n  - {{id: {fake.vm_ids[1]}}}\n"
        f"state_dir: {tmp_path / 'state'}\n"
    )
    built = open_runtime(load_config(path), clock=clock, token=TOKEN)
    yield built
    built.close()


def test_a_slot_whose_started_hook_declines_sends_nothing_and_ends_without_an_outcome(
    runtime: Runtime, fake: FakeHostinger, clock: ManualClock
) -> None:
    fleet = runtime.fleet(2)
    collected = Collected()
    policy = runtime.config.vms[0]
    fleet.submit_slot(policy, None, collected.done, started=lambda: False)
    fleet.close()  # waits for the queued slot
    fleet.pool.join(30)

    assert collected.outcomes == [] and collected.errors == []
    assert fake.count() == 0
    assert runtime.ledger.history(policy.id) == []


def test_the_started_hook_runs_on_the_worker_before_the_slots_first_request(
    runtime: Runtime, fake: FakeHostinger, clock: ManualClock
) -> None:
    fleet = runtime.fleet(2)
    collected = Collected()
    requests_when_started: list[int] = []

    def started() -> bool:
        requests_when_started.append(fake.count())
        return True

    policy = runtime.config.vms[0]
    fleet.submit_slot(policy, None, collected.done, started=started)
    collected.wait_for(1)
    fleet.close()

    assert requests_when_started == [0]
    assert [outcome.result for outcome in collected.outcomes] == [Result.SUCCESS]
    assert fake.count("POST", "/snapshot") == 1


def test_the_runtime_builds_the_fleet_on_its_engine_with_the_ledgers_last_successes(
    runtime: Runtime, fake: FakeHostinger, clock: ManualClock
) -> None:
    never, done = runtime.config.vms
    first = runtime.fleet(1)
    collected = Collected()
    first.submit_slot(done, None, collected.done)
    collected.wait_for(1)
    first.close()

    fleet = runtime.fleet(3)
    try:
        assert fleet.engine is runtime.engine
        assert fleet.requests_per_minute == 6000
        assert fleet.pool.workers == 3
        # From the ledger: the VM without a restore point goes before the one just taken.
        now = clock.now()
        assert fleet.urgency.priority(never, now) < fleet.urgency.priority(done, now)
    finally:
        fleet.close()
