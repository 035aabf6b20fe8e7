"""The daemon built from its parts and driven in this process: manual clock, in-process fake.

No subprocess and no signal: the tests queue ``reload`` and ``stop`` as the signal handlers
would, and read the daemon's state, the fake's request log and the ledger directly.
"""

from __future__ import annotations

import platform
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from snapd.clock import ManualClock
from snapd.config import load_config
from snapd.daemon.daemon import Daemon
from snapd.daemon.jobs import RunningJobs, slot_bound
from snapd.fakeapi import FakeHostinger
from snapd.ledger import OperationKind
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import Outcome, Result, SnapshotState
from snapd.runtime.daemon import build_daemon
from tests.conftest import TOKEN, FakeSettings
from tests.support.clock_driver import PollerClockDriver

# The poller's waits end as soon as it starts them: its time is driven.
pytestmark = pytest.mark.usefixtures("drive_poller")

WAIT_SECONDS = 20.0

#: Every snapd sample name (and its label names) a daemon serves after one success, one
#: failure and one skip: a renamed series or label fails the lock test below.
LOCKED_METRICS = {
    "snapd_api_authentication_ok": [],
    "snapd_api_budget_requests_per_minute": [],
    "snapd_api_request_duration_seconds_bucket": ["endpoint", "le"],
    "snapd_api_request_duration_seconds_count": ["endpoint"],
    "snapd_api_request_duration_seconds_sum": ["endpoint"],
    "snapd_api_requests_total": ["code", "endpoint", "method"],
    "snapd_build_info": ["version"],
    "snapd_config_last_reload_success_timestamp_seconds": [],
    "snapd_config_last_reload_successful": [],
    "snapd_hold_active": ["vm"],
    "snapd_leader": [],
    "snapd_leader_changes_total": [],
    "snapd_ledger_errors_total": [],
    "snapd_next_run_timestamp_seconds": ["vm"],
    "snapd_notifications_total": ["kind", "result"],
    "snapd_policy_rpo_seconds": ["vm"],
    "snapd_snapshot_attempts_total": ["result", "vm"],
    "snapd_snapshot_created_timestamp_seconds": ["vm"],
    "snapd_snapshot_duration_seconds_bucket": ["le"],
    "snapd_snapshot_duration_seconds_count": [],
    "snapd_snapshot_duration_seconds_sum": [],
    "snapd_snapshot_expiry_timestamp_seconds": ["vm"],
    "snapd_snapshot_last_duration_seconds": ["vm"],
    "snapd_snapshot_last_success_timestamp_seconds": ["vm"],
    "snapd_snapshot_present": ["vm"],
    "snapd_snapshot_skips_total": ["reason", "vm"],
}


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _policy_text(fake: FakeHostinger, state_dir: Path, vm_ids: list[int]) -> str:
    listing = "".join(f"  - {{id: {vm}}}\n" for vm in vm_ids)
    return (
        f"api: {{base_url: '{fake.base_url}', timeout: 5s, requests_per_minute: 6000}}\n"
        'defaults: {schedule: "0 3 * * *", catch_up: 2d}\n'
        f"vms:\n{listing}"
        "metrics: {listen: '127.0.0.1:0'}\n"
        f"state_dir: {state_dir}\n"
        "stop_timeout: 2s\n"
    )


@pytest.fixture
def clock_start() -> datetime:
    # Near the real time: APScheduler fires the daemon's one-off runs in real time.
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake_settings() -> FakeSettings:
    return FakeSettings(vm_count=2, action_seconds=60.0, seed=0)


@pytest.fixture
def policy_path(fake: FakeHostinger, tmp_path: Path) -> Path:
    (tmp_path / "state").mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(_policy_text(fake, tmp_path / "state", fake.vm_ids))
    return path


class Running:
    """A daemon running in a thread, with the log lines it wrote."""

    def __init__(self, daemon: Daemon, logs: list[dict[str, Any]]) -> None:
        self.daemon = daemon
        self.logs = logs
        self.code: list[int] = []
        self.thread = threading.Thread(target=lambda: self.code.append(daemon.run()))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in list(self.logs) if line["event"] == name]

    def stop(self) -> int:
        self.daemon.request_stop()
        self.thread.join(timeout=WAIT_SECONDS)
        assert not self.thread.is_alive(), "the daemon did not stop"
        return self.code[0]


@pytest.fixture
def start(
    policy_path: Path, clock: ManualClock
) -> Iterator[Callable[[Callable[[Daemon], None]], Running]]:
    started: list[Running] = []

    def launch(prepare: Callable[[Daemon], None] = lambda daemon: None) -> Running:
        config = load_config(policy_path)
        daemon = build_daemon(policy_path, config, token=TOKEN, clock=clock)
        prepare(daemon)
        running = Running(daemon, logs)
        started.append(running)
        running.thread.start()
        _wait_until(lambda: daemon.readiness() == (True, "ready"), "the daemon to be ready")
        return running

    with structlog.testing.capture_logs() as logs:
        yield launch
        for running in started:
            if running.thread.is_alive():
                running.stop()


def _successes(daemon: Daemon, virtual_machine_id: int) -> int:
    rows = daemon.runtime.ledger.history(virtual_machine_id, limit=100)
    return sum(1 for row in rows if row.outcome == "success")


def test_a_pass_may_fail_the_daemon_may_not(
    start: Callable[[Callable[[Daemon], None]], Running], fake: FakeHostinger
) -> None:
    broken, healthy = fake.vm_ids

    def break_one_vm(daemon: Daemon) -> None:
        run_slot = daemon.runtime.engine.start_slot

        def run_or_raise(policy: Any, slot: Any, waiter: Any, **options: Any) -> Any:
            if policy.id == broken:
                raise RuntimeError("a defect in one pass")
            return run_slot(policy, slot, waiter, **options)

        daemon.runtime.engine.start_slot = run_or_raise  # type: ignore[method-assign]

    running = start(break_one_vm)
    daemon = running.daemon
    _wait_until(lambda: _successes(daemon, healthy) == 1, "the healthy VM's snapshot")
    _wait_until(lambda: bool(running.events("run_crashed")), "the crash to be logged")
    assert running.events("run_crashed")[0]["vm"] == broken
    assert running.thread.is_alive()
    assert daemon.readiness() == (True, "ready")
    assert daemon.healthy()
    assert running.stop() == 0


def test_catch_up_runs_a_missed_slot_once_not_once_per_missed_slot(
    start: Callable[[Callable[[Daemon], None]], Running], fake: FakeHostinger
) -> None:
    running = start(lambda daemon: None)
    daemon = running.daemon
    for vm in fake.vm_ids:
        _wait_until(lambda vm=vm: _successes(daemon, vm) == 1, f"the catch-up of {vm}")
    _wait_until(lambda: daemon.jobs.count() == 0, "the runs to end")
    # Two daily slots fall inside catch_up (2d); one create each, not two.
    assert fake.count("POST", "/snapshot") == len(fake.vm_ids)
    assert {line["purpose"] for line in running.events("run_started")} == {"catch_up"}
    assert running.stop() == 0


def test_a_reload_takes_the_new_policy_and_a_bad_one_keeps_the_old(
    start: Callable[[Callable[[Daemon], None]], Running],
    fake: FakeHostinger,
    policy_path: Path,
    tmp_path: Path,
) -> None:
    first, second = fake.vm_ids
    policy_path.write_text(_policy_text(fake, tmp_path / "state", [first]))
    running = start(lambda daemon: None)
    daemon = running.daemon
    assert daemon.policy(second) is None

    policy_path.write_text(_policy_text(fake, tmp_path / "state", [first, second]))
    daemon.signals.put("reload")
    _wait_until(lambda: bool(running.events("reloaded")), "the reload")
    assert daemon.policy(second) is not None
    assert daemon.scheduler.next_run(second) is not None

    policy_path.write_text("vms: [{id: not-a-number}]\n")
    daemon.signals.put("reload")
    _wait_until(lambda: bool(running.events("reload_rejected")), "the rejection")
    assert daemon.policy(second) is not None
    assert daemon.readiness() == (True, "ready")
    assert running.stop() == 0


def test_a_stop_ends_the_run_and_leaves_nothing_running(
    start: Callable[[Callable[[Daemon], None]], Running], fake: FakeHostinger
) -> None:
    running = start(lambda daemon: None)
    daemon = running.daemon
    assert running.stop() == 0
    assert daemon.readiness() == (False, "stopping")
    assert not daemon.healthy()
    assert daemon.unfinished == 0
    assert running.events("stopped")[0]["unfinished_runs"] == 0


def _healthz(daemon: Daemon) -> tuple[int, str]:
    assert daemon.server is not None
    try:
        with urllib.request.urlopen(f"{daemon.server.url}/healthz", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_healthz_answers_503_while_a_job_is_wedged_and_200_once_it_ends(
    start: Callable[[Callable[[Daemon], None]], Running],
    fake: FakeHostinger,
    clock: ManualClock,
) -> None:
    def jobs_on_the_manual_clock(daemon: Daemon) -> None:
        daemon.runs.jobs = RunningJobs(clock)

    running = start(jobs_on_the_manual_clock)
    daemon = running.daemon
    # Each VM's catch-up run is recorded and no job is left: no job count of 0 seen before
    # the start-up runs were queued (a later run would hold the VM this test wedges).
    _wait_until(
        lambda: all(_successes(daemon, vm) == 1 for vm in fake.vm_ids) and daemon.jobs.count() == 0,
        "the start-up runs to end",
    )
    assert _healthz(daemon) == (200, "ok\n")
    policy = daemon.policy(fake.vm_ids[0])
    assert policy is not None
    number = daemon.jobs.begin(policy)  # a job that hangs, as a wedged scheduler's would
    assert number is not None
    clock.advance(slot_bound(policy).total_seconds() - 1)
    assert _healthz(daemon)[0] == 200
    clock.advance(2)
    status, body = _healthz(daemon)
    assert status == 503
    assert (
        body == f"not healthy: wedged: a job far past its bound (virtual machine(s) {policy.id})\n"
    )
    assert not daemon.healthy()  # the watchdog stops pinging on the same check
    daemon.jobs.end(number)
    assert _healthz(daemon) == (200, "ok\n")
    assert running.stop() == 0


def test_metrics_include_the_process_and_python_series_that_show_restarts_and_leaks(
    start: Callable[[Callable[[Daemon], None]], Running],
) -> None:
    running = start(lambda daemon: None)
    assert running.daemon.server is not None
    with urllib.request.urlopen(f"{running.daemon.server.url}/metrics", timeout=5) as answer:
        families = {
            family.name: family for family in text_string_to_metric_families(answer.read().decode())
        }
    for name in ("process_start_time_seconds", "process_resident_memory_bytes"):
        assert families[name].samples[0].value > 0, name
    assert families["process_open_fds"].samples[0].value >= 3  # stdin, stdout, stderr
    (python,) = families["python_info"].samples
    assert python.labels["implementation"] == platform.python_implementation()
    assert running.stop() == 0


def test_the_start_up_look_lists_the_vms_once_and_reads_each_snapshot_once(
    start: Callable[[Callable[[Daemon], None]], Running],
    fake: FakeHostinger,
    clock: ManualClock,
) -> None:
    for vm in fake.vm_ids:
        fake.set_snapshot(vm, clock.now())  # newer than every slot: nothing to catch up
    running = start(lambda daemon: None)
    _wait_until(lambda: bool(running.events("inventory_done")), "the start-up look")

    paths = [request.path for request in fake.requests]
    assert len([path for path in paths if path.endswith("/virtual-machines")]) == 1
    for vm in fake.vm_ids:
        assert paths.count(f"/api/vps/v1/virtual-machines/{vm}/snapshot") == 1
    assert len([path for path in paths if path.endswith("/backups")]) == 1  # one VM's turn
    assert len(paths) == 1 + len(fake.vm_ids) + 1
    assert running.events("inventory_done")[0]["startup"] is True
    assert fake.count("POST") == 0
    assert running.stop() == 0


def _slow_budget(policy_path: Path) -> None:
    """60 requests a minute: the start-up look spaces its requests two seconds apart."""
    policy_path.write_text(
        policy_path.read_text().replace("requests_per_minute: 6000", "requests_per_minute: 60")
    )


def test_the_daemon_is_ready_before_its_paced_look_at_the_fleet_ends(
    start: Callable[[Callable[[Daemon], None]], Running],
    fake: FakeHostinger,
    policy_path: Path,
    drive_poller: PollerClockDriver,
) -> None:
    drive_poller.open.clear()  # nothing moves the clock: the look waits out its spacing
    _slow_budget(policy_path)
    running = start(lambda daemon: None)  # returns once /readyz says ready

    assert running.events("inventory_done") == []
    assert running.stop() == 0  # the stop ends the look's wait at once
    assert fake.count("POST") == 0


def test_a_daemon_on_a_manual_clock_looks_and_runs_its_slots_only_as_the_clock_moves(
    start: Callable[[Callable[[Daemon], None]], Running],
    fake: FakeHostinger,
    clock: ManualClock,
    policy_path: Path,
    drive_poller: PollerClockDriver,
) -> None:
    drive_poller.open.clear()  # only this test moves the clock
    _slow_budget(policy_path)
    running = start(lambda daemon: None)
    daemon = running.daemon
    began = clock.now()
    assert running.events("inventory_done") == []

    def done() -> bool:
        return all(_successes(daemon, vm) == 1 for vm in fake.vm_ids)

    steps = 0
    while not done():
        # Each step ends the earliest wait on the clock: the look's spacing, the budget's
        # next slot, the poller's next look at an action.
        _wait_until(lambda: done() or clock.earliest_wait_end() is not None, "a wait")
        end = clock.earliest_wait_end()
        if end is not None:
            clock.set(end)
            steps += 1
        assert steps < 500, "the daemon kept waiting"

    (look,) = running.events("inventory_done")
    assert (look["startup"], look["read"]) == (True, len(fake.vm_ids))
    # The look spaced its requests two seconds apart on the daemon's (manual) clock.
    listed = next(request for request in fake.requests if request.path.endswith("machines"))
    first_read = next(request for request in fake.requests if request.path.endswith("snapshot"))
    assert first_read.at - listed.at >= timedelta(seconds=2)
    assert {line["purpose"] for line in running.events("run_started")} == {"catch_up"}
    assert fake.count("POST", "/snapshot") == len(fake.vm_ids)
    # The actions take a minute of the fake's (manual) time: the daemon waited it out
    # on the clock the test moved, not in real time.
    assert clock.now() - began >= timedelta(seconds=60)
    assert running.stop() == 0


def _exposed_names_and_labels(daemon: Daemon) -> dict[str, list[str]]:
    """Every snapd sample name the daemon's /metrics serves, with its sorted label names."""
    assert daemon.server is not None
    with urllib.request.urlopen(f"{daemon.server.url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    exposed: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("snapd_"):
                exposed.setdefault(sample.name, set()).update(sample.labels)
    return {name: sorted(labels) for name, labels in sorted(exposed.items())}


def test_the_metric_names_and_label_names_after_a_success_a_failure_and_a_skip_are_locked(
    start: Callable[[Callable[[Daemon], None]], Running],
    clock: ManualClock,
    drive_poller: PollerClockDriver,
) -> None:
    # The clock stands still: the start-up look stays at its first spacing, so only the
    # outcomes below set series (no backup read or catch-up racing with the scrape).
    drive_poller.open.clear()
    running = start(lambda daemon: None)
    first, second = sorted(policy.id for policy in running.daemon.config.vms)
    now = clock.now()
    snapshot = SnapshotState(id=7, created_at=now, expires_at=now + timedelta(days=20))
    for vm, result, reason in (
        (first, Result.SUCCESS, "created"),
        (second, Result.FAILED, "created"),
        (second, Result.SKIPPED, Reason.SNAPSHOT_TOO_YOUNG.value),
    ):
        running.daemon.observer.outcome(
            Outcome(virtual_machine_id=vm, kind=OperationKind.SNAPSHOT, slot=now, result=result,
                    reason=reason, detail="", started_at=now, finished_at=now, action_id=1,
                    new_snapshot=snapshot if result is Result.SUCCESS else None)
        )  # fmt: skip
    assert _exposed_names_and_labels(running.daemon) == LOCKED_METRICS
    assert running.stop() == 0
