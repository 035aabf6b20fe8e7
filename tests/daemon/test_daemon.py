"""The daemon: catch-up, slots, late jobs, expiry refresh, reload, stop and resume."""

from __future__ import annotations

import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snapd.clock import ManualClock
from snapd.daemon.scheduler import SlotScheduler, refresh_time
from snapd.fakeapi import FakeHostinger, Fault
from snapd.ledger import SqliteLedger
from tests.conftest import TOKEN, FakeMaker, FakeSettings, make_policy
from tests.support.daemon import DaemonProcess, metric_value
from tests.support.policy import HOURLY, NO_MANUAL_PROTECTION, write_policy


@pytest.fixture
def live_fake(make_fake: FakeMaker) -> FakeHostinger:
    """The fake API on the real clock, for a snapd in another process."""
    return make_fake(
        FakeSettings(token=TOKEN, vm_count=2, action_seconds=1.0, seed=3, manual_clock=False)
    )


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


def test_catch_up_runs_once_after_three_missed_slots(
    live_fake: FakeHostinger, state_dir: Path, tmp_path: Path
) -> None:
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids,
        state_dir,
        schedule=HOURLY,
        defaults=NO_MANUAL_PROTECTION,
    )
    vm = live_fake.vm_ids[0]
    # The snapshot predates the last three hourly slots: each of them was missed.
    live_fake.set_snapshot(vm, datetime.now(UTC) - timedelta(hours=3, minutes=30))
    daemon = DaemonProcess(policy)
    try:
        daemon.wait_for("snapshot_finished", vm=vm, result="success")
        daemon.wait_for("snapshot_finished", vm=live_fake.vm_ids[1], result="success")
    finally:
        assert daemon.stop() == 0
    assert live_fake.count("POST", "/snapshot") == 2  # one per VM, not one per missed slot
    assert daemon.count("run_started") == 2


def test_catch_up_is_not_needed_when_the_snapshot_is_newer_than_the_slot(
    live_fake: FakeHostinger, state_dir: Path, tmp_path: Path
) -> None:
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids[:1],
        state_dir,
        schedule=HOURLY,
        defaults=NO_MANUAL_PROTECTION,
    )
    vm = live_fake.vm_ids[0]
    live_fake.set_snapshot(vm, datetime.now(UTC))
    daemon = DaemonProcess(policy)
    try:
        daemon.wait_for("catch_up_not_needed", vm=vm)
        newest_backup = None
        for _ in range(50):
            exposition = daemon.scrape()
            newest_backup = metric_value(
                exposition, "snapd_backup_newest_timestamp_seconds", vm=str(vm)
            )
            if newest_backup is not None:
                break
            time.sleep(0.1)
    finally:
        assert daemon.stop() == 0
    assert live_fake.count("POST") == 0
    # The fake seeds weekly backups; their age is exported as a restore point too.
    assert newest_backup is not None and newest_backup < time.time()


def test_sigterm_exits_0_quickly_and_the_next_start_resumes_without_a_second_create(
    state_dir: Path, tmp_path: Path
) -> None:
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=4.0, seed=4) as slow_fake:
        check_stop_and_resume(slow_fake, state_dir, tmp_path)


def check_stop_and_resume(live_fake: FakeHostinger, state_dir: Path, tmp_path: Path) -> None:
    vm = live_fake.vm_ids[0]
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        [vm],
        state_dir,
        schedule=HOURLY,
        defaults=NO_MANUAL_PROTECTION,
    )
    states = ["created", "started", "sent", "success"]
    live_fake.inject(Fault(kind="action_states", endpoint="create_snapshot", states=states))
    first = DaemonProcess(policy)
    first.wait_for("snapshot_requested", vm=vm)
    started = time.monotonic()
    assert first.stop(timeout=10) == 0
    assert time.monotonic() - started < 10
    with SqliteLedger.open(state_dir) as ledger:
        pending = ledger.pending_for(vm)
    assert pending is not None

    second = DaemonProcess(policy)
    try:
        second.wait_for("resume_scheduled", vm=vm)
        finished = second.wait_for("snapshot_finished", vm=vm, timeout=30)
    finally:
        assert second.stop() == 0
    assert finished["result"] == "success"
    assert finished["action_id"] == pending.action_id
    assert live_fake.count("POST", "/snapshot") == 1

    third = DaemonProcess(policy)
    try:
        exposition = third.scrape()
    finally:
        assert third.stop() == 0
    last_success = metric_value(
        exposition, "snapd_snapshot_last_success_timestamp_seconds", vm=str(vm)
    )
    assert last_success is not None and abs(last_success - time.time()) < 120
    assert live_fake.count("POST", "/snapshot") == 1


def test_sighup_with_a_broken_policy_keeps_the_old_jobs(
    live_fake: FakeHostinger, state_dir: Path, tmp_path: Path
) -> None:
    for vm in live_fake.vm_ids:
        live_fake.set_snapshot(vm, datetime.now(UTC))
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids,
        state_dir,
        schedule=HOURLY,
        defaults=NO_MANUAL_PROTECTION,
    )
    daemon = DaemonProcess(policy)
    try:
        before = daemon.scrape()
        kept = str(live_fake.vm_ids[1])
        assert metric_value(before, "snapd_next_run_timestamp_seconds", vm=kept) is not None
        policy.write_text("vms: [\n")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for("reload_rejected")
        after = daemon.scrape()
        assert metric_value(after, "snapd_config_last_reload_successful") == 0
        assert metric_value(after, "snapd_next_run_timestamp_seconds", vm=kept) is not None

        write_policy(
            policy,
            live_fake.base_url,
            live_fake.vm_ids[:1],
            state_dir,
            schedule=HOURLY,
            defaults=NO_MANUAL_PROTECTION,
        )
        daemon.signal(signal.SIGHUP)
        daemon.wait_for("reloaded")
        reloaded = daemon.scrape()
        assert metric_value(reloaded, "snapd_config_last_reload_successful") == 1
        assert metric_value(reloaded, "snapd_next_run_timestamp_seconds", vm=kept) is None
    finally:
        assert daemon.stop() == 0
    assert live_fake.count("POST") == 0


def test_a_job_started_late_beyond_the_old_one_second_grace_still_runs_once() -> None:
    calls: list[tuple[int, datetime | None, str]] = []
    ran = threading.Event()

    def record(virtual_machine_id: int, slot: datetime | None, purpose: str) -> None:
        calls.append((virtual_machine_id, slot, purpose))
        ran.set()

    scheduler = SlotScheduler(record)
    scheduler.start([make_policy(7)])
    try:
        late = datetime.now(UTC) - timedelta(minutes=5)
        scheduler.run_soon(7, late, "catch_up", at=late)
        assert ran.wait(5)
    finally:
        scheduler.shutdown()
    assert calls == [(7, late, "catch_up")]


def test_a_scheduled_job_runs_its_slot_once_and_names_the_unjittered_slot() -> None:
    calls: list[datetime | None] = []
    now = datetime(2025, 6, 1, 3, 0, 7, tzinfo=UTC)
    scheduler = SlotScheduler(lambda vm, slot, purpose: calls.append(slot), clock=ManualClock(now))
    scheduler.replace([make_policy(7, jitter=timedelta(minutes=10))])
    scheduler._fire_scheduled(7)
    assert calls == [datetime(2025, 6, 1, 3, 0, tzinfo=UTC)]


def test_the_pipeline_never_creates_twice_for_one_slot_even_when_fired_twice(
    pipeline: object,
) -> None:
    from tests.conftest import Pipeline

    assert isinstance(pipeline, Pipeline)
    vm = pipeline.fake.vm_ids[0]
    slot = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
    policy = make_policy(vm, min_age=timedelta(0))
    pipeline.engine.start_slot(policy, slot).result()
    pipeline.engine.start_slot(policy, slot).result()
    assert pipeline.creates() == 1


@pytest.mark.parametrize(
    ("expires_in", "next_slot_in", "expected_in"),
    [
        (timedelta(days=3), timedelta(days=1), None),  # a slot comes first
        (timedelta(days=3), timedelta(days=5), timedelta(days=2)),  # refresh a day early
        (timedelta(hours=5), timedelta(days=5), timedelta(0)),  # already inside the margin: now
        (timedelta(days=3), None, timedelta(days=2)),  # no next slot at all
    ],
)
def test_expiry_refresh_is_due_before_expiry_when_no_slot_comes_first(
    expires_in: timedelta, next_slot_in: timedelta | None, expected_in: timedelta | None
) -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    next_slot = now + next_slot_in if next_slot_in is not None else None
    when = refresh_time(now + expires_in, next_slot, timedelta(days=1), now)
    assert when == (now + expected_in if expected_in is not None else None)


def test_a_snapshot_expiring_before_the_next_slot_is_refreshed_before_it_expires(
    live_fake: FakeHostinger, state_dir: Path, tmp_path: Path
) -> None:
    vm = live_fake.vm_ids[0]
    now = datetime.now(UTC)
    # A weekly slot three days ago (outside the one-day catch-up window), so the next slot
    # is four days away, while the snapshot expires in twelve hours.
    weekday = ((now - timedelta(days=3)).weekday() + 1) % 7
    schedule = f"{now.minute} {now.hour} * * {weekday}"
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        [vm],
        state_dir,
        schedule=schedule,
        defaults=NO_MANUAL_PROTECTION,
    )
    live_fake.set_snapshot(vm, now - timedelta(days=19, hours=12), now + timedelta(hours=12))
    daemon = DaemonProcess(policy)
    try:
        daemon.wait_for("refresh_scheduled", vm=vm)
        finished = daemon.wait_for("snapshot_finished", vm=vm)
        exposition = daemon.scrape()
    finally:
        assert daemon.stop() == 0
    assert finished["result"] == "success"
    assert live_fake.count("POST", "/snapshot") == 1
    expiry = metric_value(exposition, "snapd_snapshot_expiry_timestamp_seconds", vm=str(vm))
    assert expiry is not None and expiry > (now + timedelta(days=19)).timestamp()


def test_every_restore_point_is_visible_from_the_first_scrape(
    live_fake: FakeHostinger, state_dir: Path, tmp_path: Path
) -> None:
    # Not older than the last hourly slot, whenever the test runs: no catch-up is due.
    created = datetime.now(UTC).replace(microsecond=0)
    for vm in live_fake.vm_ids:
        live_fake.set_snapshot(vm, created)
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids,
        state_dir,
        schedule=HOURLY,
        defaults=NO_MANUAL_PROTECTION,
    )
    daemon = DaemonProcess(policy)
    try:
        for vm in live_fake.vm_ids:
            daemon.wait_for("catch_up_not_needed", vm=vm)
        exposition = daemon.scrape()
    finally:
        assert daemon.stop() == 0
    for vm in live_fake.vm_ids:
        value = metric_value(exposition, "snapd_snapshot_created_timestamp_seconds", vm=str(vm))
        assert value == created.timestamp()


def test_run_in_dry_run_decides_every_slot_and_posts_nothing(
    live_fake: FakeHostinger, state_dir: Path, tmp_path: Path
) -> None:
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids,
        state_dir,
        schedule=HOURLY,
        defaults=NO_MANUAL_PROTECTION,
    )
    daemon = DaemonProcess(policy, "--dry-run")
    try:
        for vm in live_fake.vm_ids:
            finished = daemon.wait_for("snapshot_finished", vm=vm)
            assert (finished["result"], finished["dry_run"]) == ("dry_run", True)
    finally:
        assert daemon.stop() == 0
    assert live_fake.count("POST") == 0


def test_run_exits_2_with_one_line_when_the_metrics_port_is_taken(
    live_fake: FakeHostinger, state_dir: Path, tmp_path: Path
) -> None:

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        policy = write_policy(
            tmp_path / "config.yaml",
            live_fake.base_url,
            live_fake.vm_ids,
            state_dir,
            schedule=HOURLY,
            defaults=NO_MANUAL_PROTECTION,
        )
        policy.write_text(policy.read_text().replace("127.0.0.1:0", f"127.0.0.1:{port}"))
        daemon = DaemonProcess(policy)
        code = daemon.process.wait(timeout=30)
    daemon.stop()
    assert code == 2
    errors = [line for line in daemon.raw if line.startswith("snapd: error:")]
    assert errors == [f"snapd: error: cannot listen on 127.0.0.1:{port}: address already in use\n"]
    assert not any("Traceback" in line for line in daemon.raw)


def test_a_refused_token_makes_the_daemon_unready_without_a_retry_storm(
    live_fake: FakeHostinger, state_dir: Path, tmp_path: Path
) -> None:
    policy = write_policy(
        tmp_path / "config.yaml",
        live_fake.base_url,
        live_fake.vm_ids,
        state_dir,
        schedule=HOURLY,
        defaults=NO_MANUAL_PROTECTION,
    )
    daemon = DaemonProcess(policy, token="wrong-token")
    try:
        daemon.wait_for("api_token_refused", level="error")
        status, body = 0, ""
        for _ in range(50):
            status, body = daemon.readiness()
            if status == 503:
                break
            time.sleep(0.1)
        exposition = daemon.scrape()
    finally:
        assert daemon.stop() == 0
    assert (status, body) == (503, "not ready: the API refused the token\n")
    assert metric_value(exposition, "snapd_api_authentication_ok") == 0
    warnings_and_errors = [e for e in daemon.events if e.get("level") in ("warning", "error")]
    assert [e["event"] for e in warnings_and_errors if "vm" in e] == []
    assert [e["event"] for e in warnings_and_errors].count("api_token_refused") == 1
    assert live_fake.count("POST") == 0
    # Each VM's start-up look and at most one pre-flight read, the backups look: no storm.
    assert len(live_fake.requests) <= 3 * len(live_fake.vm_ids)
    assert "wrong-token" not in "".join(daemon.raw)
