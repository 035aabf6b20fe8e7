"""The daemon with a handed-off wait: a VM runs until its outcome is recorded, thread or not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.daemon.daemon import Daemon
from snapd.daemon.jobs import RunningJobs, slot_bound
from snapd.fakeapi import FakeHostinger
from snapd.pipeline.poller import THREAD_NAME
from snapd.runtime.daemon import build_daemon
from tests.conftest import TOKEN, FakeSettings
from tests.support.clock_driver import PollerClockDriver
from tests.support.fleet import wait_until


@pytest.fixture
def clock_start() -> datetime:
    # Near the real time: APScheduler fires the daemon's one-off runs in real time.
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake_settings() -> FakeSettings:
    return FakeSettings(vm_count=1, action_seconds=300.0, seed=0)


@pytest.fixture
def daemon(fake: FakeHostinger, clock: ManualClock, tmp_path: Path) -> Iterator[Daemon]:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(
        f"api: {{base_url: '{fake.base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
        'defaults: {schedule: "0 3 * * *"}\n'
        f"vms:\n  - {{id: {fake.vm_ids[0]}}}\n"
        "metrics: {listen: '127.0.0.1:0'}\n"
        f"state_dir: {state_dir}\n"
    )
    built = build_daemon(path, load_config(path), token=TOKEN, clock=clock)
    yield built
    built.fleet.close()
    built.runtime.close()
    if built.instance_lock is not None:
        built.instance_lock.release()


def test_a_vm_whose_action_is_with_the_poller_is_still_running(
    daemon: Daemon, fake: FakeHostinger, clock: ManualClock, gate: PollerClockDriver
) -> None:
    daemon.runs.fleet = daemon.runtime.fleet(2)
    jobs_clock = ManualClock(clock.now())
    daemon.runs.jobs = RunningJobs(jobs_clock)
    vm = fake.vm_ids[0]
    policy = daemon.config.vm(vm)
    with structlog.testing.capture_logs() as logs:
        daemon._run_slot(vm, None, "refresh")
        wait_until(lambda: daemon.fleet.poller.in_flight() == 1, "the action to be in flight")
        assert daemon.fleet.pool.busy() == 0  # no thread holds the VM
        assert daemon.jobs.count() == 1
        daemon._run_slot(vm, None, "scheduled")  # meets the running job: coalesced
        assert daemon.jobs.wait_idle(0.05) == 1  # a stop would wait for it
        assert daemon.healthy()
        jobs_clock.advance(slot_bound(policy).total_seconds() + 1)
        assert not daemon.healthy()  # the watchdog still sees a wait past its bound
        gate.open.set()
        assert daemon.jobs.wait_idle(20) == 0
    assert daemon.healthy()
    events = [line["event"] for line in logs]
    assert events.count("run_coalesced") == 1
    assert events.count("run_started") == 1
    assert events.count("snapshot_finished") == 1
    assert fake.count("POST", "/snapshot") == 1
    assert [row.outcome for row in daemon.runtime.ledger.history(vm)] == ["success"]


def test_a_daemon_on_a_manual_clock_leaves_its_time_to_whoever_drives_the_clock(
    daemon: Daemon, fake: FakeHostinger, clock: ManualClock
) -> None:
    started = clock.now()
    vm = fake.vm_ids[0]
    daemon._run_slot(vm, None, "refresh")
    wait_until(lambda: daemon.fleet.poller.in_flight() == 1, "the action to be in flight")
    wait_until(
        lambda: clock.earliest_wait_end(THREAD_NAME) is not None, "the poller to wait on the clock"
    )
    assert clock.now() == started  # waiting for its next look did not move the time
    with PollerClockDriver(clock):
        assert daemon.jobs.wait_idle(20) == 0
    assert [row.outcome for row in daemon.runtime.ledger.history(vm)] == ["success"]
    assert clock.now() > started
