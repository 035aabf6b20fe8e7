"""The recovery point objective per VM and the periodic inventory between slots."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from snapd.clock import ManualClock
from snapd.config.rpo import recovery_point_objective
from snapd.daemon.inventory import (
    FleetInventory,
    inventory_interval,
    request_spacing,
    requests_per_pass,
)
from snapd.fakeapi import FakeHostinger
from snapd.hostinger import HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.metrics import Metrics
from snapd.pipeline.outcome import SnapshotState
from tests.conftest import START, TOKEN, make_policy
from tests.daemon_support import DaemonProcess, metric_value
from tests.test_daemon import write_policy


@pytest.mark.parametrize(
    ("schedule", "jitter", "expected"),
    [
        ("0 3 * * *", timedelta(0), timedelta(hours=24, minutes=30)),
        ("0 3 * * *", timedelta(minutes=10), timedelta(hours=24, minutes=40)),
        ("0 * * * *", timedelta(0), timedelta(hours=1, minutes=30)),
        ("0 3,15 * * *", timedelta(0), timedelta(hours=12, minutes=30)),
        # Weekdays only: Friday 03:00 to Monday 03:00 is the longest gap.
        ("0 3 * * 1-5", timedelta(0), timedelta(days=3, minutes=30)),
    ],
)
def test_the_rpo_is_the_longest_slot_gap_plus_jitter_plus_the_action_timeout(
    schedule: str, jitter: timedelta, expected: timedelta
) -> None:
    policy = make_policy(1, schedule=schedule, jitter=jitter)
    assert recovery_point_objective(policy) == expected


def test_the_rpo_is_exported_per_vm_in_seconds() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.set_policy_rpo(7, 88200.0)
    assert registry.get_sample_value("snapd_policy_rpo_seconds", {"vm": "7"}) == 88200.0
    metrics.set_policy_rpo(7, None)
    assert registry.get_sample_value("snapd_policy_rpo_seconds", {"vm": "7"}) is None


@pytest.mark.parametrize(
    ("fleet_size", "requests_per_minute"), [(1, 60), (100, 60), (1000, 6000), (5000, 600)]
)
def test_the_inventory_uses_at_most_a_tenth_of_the_request_budget(
    fleet_size: int, requests_per_minute: int
) -> None:
    interval = inventory_interval(fleet_size, requests_per_minute)
    per_minute = requests_per_pass(fleet_size) / (interval.total_seconds() / 60)
    assert per_minute <= requests_per_minute / 10
    # Within a pass the requests are spaced to the same share.
    assert 60 / request_spacing(requests_per_minute) <= requests_per_minute / 10


def test_a_small_fleet_is_looked_at_every_five_minutes_and_a_large_one_less_often() -> None:
    assert inventory_interval(2, 60) == timedelta(minutes=5)
    assert inventory_interval(100, 60) == timedelta(seconds=201 * 10)


class Listener:
    """Records what the inventory reports, the way the daemon's observer receives it."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.refreshes: list[int] = []

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.metrics.snapshot_seen(virtual_machine_id, snapshot)

    def consider_refresh(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        self.refreshes.append(virtual_machine_id)

    def outcome_count(self, virtual_machine_id: int) -> int:
        return 0


class RunFinishingDuringTheRead(Listener):
    """A slot's outcome lands while the inventory's read is on its way."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(metrics)
        self.calls = 0

    def outcome_count(self, virtual_machine_id: int) -> int:
        self.calls += 1
        return self.calls


def run_inventory(
    fake: FakeHostinger, vm_ids: list[int], listener: type[Listener] = Listener
) -> CollectorRegistry:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    policies = [make_policy(vm) for vm in vm_ids]
    with HostingerClient(
        base_url=fake.base_url, token=TOKEN, timeout=5.0, budget=RequestBudget(100_000)
    ) as client:
        inventory = FleetInventory(
            client, listener(metrics), metrics, lambda: policies, threading.Event(), 0.0
        )
        inventory.run_pass()
    return registry


def sample(registry: CollectorRegistry, name: str, vm: int) -> float | None:
    return registry.get_sample_value(name, {"vm": str(vm)})


def test_a_snapshot_taken_or_deleted_by_hand_shows_up_at_the_next_pass() -> None:
    clock = ManualClock(START)
    with FakeHostinger(token=TOKEN, vm_count=2, seed=4, clock=clock) as fake:
        taken_by_hand, deleted_by_hand = fake.vm_ids
        made = datetime(2025, 5, 31, 22, 0, tzinfo=UTC)
        fake.set_snapshot(taken_by_hand, made)
        fake.clear_snapshot(deleted_by_hand)

        registry = run_inventory(fake, fake.vm_ids)

        created = sample(registry, "snapd_snapshot_created_timestamp_seconds", taken_by_hand)
        assert created == made.timestamp()
        assert sample(registry, "snapd_snapshot_present", taken_by_hand) == 1
        assert sample(registry, "snapd_snapshot_present", deleted_by_hand) == 0
        assert sample(registry, "snapd_snapshot_created_timestamp_seconds", deleted_by_hand) is None
        assert sample(registry, "snapd_backup_newest_timestamp_seconds", taken_by_hand) is not None


def test_a_pass_lists_the_vms_once_and_reads_each_vm_twice() -> None:
    with FakeHostinger(token=TOKEN, vm_count=3, seed=4, clock=ManualClock(START)) as fake:
        run_inventory(fake, fake.vm_ids)
        listed = [r for r in fake.requests if r.path.endswith("/virtual-machines")]
        assert len(listed) == 1
        assert len(fake.requests) == requests_per_pass(3)
        assert fake.count("POST") == 0


def test_a_read_that_overlaps_a_finished_run_does_not_overwrite_what_the_run_reported() -> None:
    with FakeHostinger(token=TOKEN, vm_count=1, seed=4, clock=ManualClock(START)) as fake:
        registry = run_inventory(fake, fake.vm_ids, RunFinishingDuringTheRead)
        vm = fake.vm_ids[0]
        assert sample(registry, "snapd_snapshot_present", vm) is None  # left as the run set it


def test_a_vm_gone_from_the_account_is_exported_without_a_restore_point() -> None:
    with FakeHostinger(token=TOKEN, vm_count=1, seed=4, clock=ManualClock(START)) as fake:
        registry = run_inventory(fake, [*fake.vm_ids, 999_999])
        assert sample(registry, "snapd_snapshot_present", 999_999) == 0


def test_the_daemon_notices_a_snapshot_deleted_by_hand_between_slots(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=0.5, seed=6) as live:
        vm = live.vm_ids[0]
        live.set_snapshot(vm, datetime.now(UTC))  # fresh: no catch-up run
        policy = write_policy(tmp_path / "config.yaml", live, state_dir)
        daemon = DaemonProcess(policy, "--inventory-interval", "1s")
        try:
            daemon.wait_for("inventory_done")
            assert metric_value(daemon.scrape(), "snapd_snapshot_present", vm=str(vm)) == 1
            live.clear_snapshot(vm)
            present = None
            deadline = time.monotonic() + 20
            while present != 0 and time.monotonic() < deadline:
                time.sleep(0.2)
                present = metric_value(daemon.scrape(), "snapd_snapshot_present", vm=str(vm))
            rpo = metric_value(daemon.scrape(), "snapd_policy_rpo_seconds", vm=str(vm))
        finally:
            assert daemon.stop() == 0
    assert present == 0
    assert rpo == 5400  # hourly slots + 30m action_timeout
    assert live.count("POST") == 0
