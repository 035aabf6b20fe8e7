"""The recovery point objective per VM and the periodic inventory between slots."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from snapd.clock import ManualClock
from snapd.config.rpo import recovery_point_objective
from snapd.daemon.inventory import FleetInventory
from snapd.daemon.inventory_pacing import (
    BACKUP_ROTATION_PASSES,
    backups_per_pass,
    requests_per_pass,
)
from snapd.fakeapi import FakeHostinger
from snapd.hostinger import HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.metrics import Metrics
from snapd.pipeline.outcome import SnapshotState
from tests.conftest import START, TOKEN, make_policy
from tests.support.daemon import DaemonProcess, metric_value
from tests.support.inventory import Listener
from tests.support.policy import HOURLY, NO_MANUAL_PROTECTION, write_policy


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


def test_a_pass_lists_the_vms_once_reads_each_snapshot_once_and_one_vms_backups() -> None:
    with FakeHostinger(token=TOKEN, vm_count=3, seed=4, clock=ManualClock(START)) as fake:
        run_inventory(fake, fake.vm_ids)
        listed = [r for r in fake.requests if r.path.endswith("/virtual-machines")]
        assert len(listed) == 1
        assert fake.count("GET", "/snapshot") == 3
        assert fake.count("GET", "/backups") == 1
        assert len(fake.requests) == requests_per_pass(3)
        assert fake.count("POST") == 0


def test_backups_are_read_a_few_vms_per_pass_in_turn() -> None:
    with FakeHostinger(token=TOKEN, vm_count=30, seed=4, clock=ManualClock(START)) as fake:
        policies = [make_policy(vm) for vm in fake.vm_ids]
        metrics = Metrics(CollectorRegistry())
        with HostingerClient(
            base_url=fake.base_url, token=TOKEN, timeout=5.0, budget=RequestBudget(100_000)
        ) as client:
            inventory = FleetInventory(
                client, Listener(metrics), metrics, lambda: policies, threading.Event(), 0.0
            )
            per_pass = []
            for _ in range(BACKUP_ROTATION_PASSES):
                before = len(fake.requests)
                inventory.run_pass()
                new = fake.requests[before:]
                per_pass.append([r.path for r in new if r.path.endswith("/backups")])
        read = [path for paths in per_pass for path in paths]
        assert all(len(paths) == backups_per_pass(30) == 3 for paths in per_pass)
        # Twelve passes read every VM's backups at least once, none more than twice.
        assert {path.split("/")[-2] for path in read} == {str(vm) for vm in fake.vm_ids}
        assert max(read.count(path) for path in read) <= 2


class StartupLook:
    """Records what the start-up hook is told, the way ``CatchUp`` receives it."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, bool]] = []

    def __call__(self, policy: Any, snapshot: SnapshotState | None, known: bool) -> bool:
        self.seen.append((policy.id, known))
        return False


def test_only_the_first_pass_is_the_start_up_look_and_it_has_its_own_pace() -> None:
    with FakeHostinger(token=TOKEN, vm_count=3, seed=4, clock=ManualClock(START)) as fake:
        policies = [make_policy(vm) for vm in fake.vm_ids]
        metrics = Metrics(CollectorRegistry())
        look = StartupLook()
        stop = threading.Event()
        with HostingerClient(
            base_url=fake.base_url, token=TOKEN, timeout=5.0, budget=RequestBudget(100_000)
        ) as client:
            inventory = FleetInventory(
                client, Listener(metrics), metrics, lambda: policies, stop, 60.0,
                startup=look, startup_spacing=0.0,
            )  # fmt: skip
            inventory.run_pass()  # would take minutes at the regular spacing
            inventory.spacing = 0.0
            inventory.run_pass()
        assert look.seen == [(vm, True) for vm in fake.vm_ids]  # from the first pass only
        assert fake.count("GET", "/snapshot") == 6


def test_a_refused_token_ends_the_pass_and_is_reported_once() -> None:
    with FakeHostinger(token=TOKEN, vm_count=3, seed=4, clock=ManualClock(START)) as fake:
        policies = [make_policy(vm) for vm in fake.vm_ids]
        metrics = Metrics(CollectorRegistry())
        listener = Listener(metrics)
        with HostingerClient(
            base_url=fake.base_url, token="wrong", timeout=5.0, budget=RequestBudget(100_000)
        ) as client:
            inventory = FleetInventory(
                client, listener, metrics, lambda: policies, threading.Event(), 0.0,
                startup=StartupLook(),
            )  # fmt: skip
            summary = inventory.run_pass()
        assert listener.refused == [401]
        assert summary.failed == 1
        assert len(fake.requests) == 1  # the list call, nothing per VM


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
        policy = write_policy(
            tmp_path / "config.yaml",
            live.base_url,
            live.vm_ids,
            state_dir,
            schedule=HOURLY,
            defaults=NO_MANUAL_PROTECTION,
        )
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
