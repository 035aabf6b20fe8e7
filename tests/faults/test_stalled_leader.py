"""A leader whose database session stalls (``kill -STOP`` of its backend) while an action
is in flight: it stops acting during the stall, and when the session answers again it
resumes the interrupted action at once instead of leaving it to the next slot."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger
from snapd.ledger.leadership import CONFIRM_SECONDS
from snapd.pipeline.outcome import Result
from tests.conftest import START, TOKEN, Pipeline, make_policy
from tests.support.daemon import DaemonProcess, fake_api_process
from tests.support.postgres import PostgresCluster
from tests.support.replica import VM, create_actions, finish, replica_policy

# The create is executed at once and takes 8 s: long enough for a stall in its middle.
EIGHT_SECOND_CREATE = ["--vms", "1", "--action-seconds", "8"]
STALL_SECONDS = CONFIRM_SECONDS + 2.0
# From SIGCONT to the resumed action's record: one leadership check, one poll, margin.
PROMPTLY_SECONDS = 10.0


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[str]:
    with fake_api_process(tmp_path, EIGHT_SECOND_CREATE) as base_url:
        yield base_url


def test_a_leader_whose_backend_stalls_mid_action_resumes_it_as_soon_as_it_answers(
    fake_api: str, tmp_path: Path, postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    daemon = DaemonProcess(replica_policy(tmp_path, fake_api, postgres_dsn, "a"))
    try:
        backend = daemon.wait_for("leadership_acquired")["backend_pid"]
        daemon.wait_for("snapshot_requested", timeout=30, vm=VM)
        os.kill(backend, signal.SIGSTOP)
        try:
            # The leader stops acting: its wait on the action ends, the row stays.
            daemon.wait_for("snapshot_finished", timeout=STALL_SECONDS + 5, result="interrupted")
            time.sleep(max(0.0, STALL_SECONDS - CONFIRM_SECONDS))
        finally:
            os.kill(backend, signal.SIGCONT)
        answered = time.monotonic()
        daemon.wait_for("leadership_regained", timeout=PROMPTLY_SECONDS)
        daemon.wait_for("resuming_pending_action", timeout=PROMPTLY_SECONDS, vm=VM)
        finished = daemon.wait_for(
            "snapshot_finished", timeout=PROMPTLY_SECONDS + 8, vm=VM, result="success"
        )
        recorded_after = time.monotonic() - answered
    finally:
        finish(daemon)

    assert finished["slot"] is not None
    assert create_actions(fake_api) == 1
    assert recorded_after < PROMPTLY_SECONDS + 8
    pending = postgres_cluster.execute("SELECT count(*) FROM pending_actions", dsn=postgres_dsn)
    assert pending == [(0,)]


def test_a_slot_that_finds_an_earlier_slots_action_pending_resumes_it_and_still_runs(
    pipeline: Pipeline, fake: FakeHostinger, clock: ManualClock
) -> None:
    vm = fake.vm_ids[0]
    policy = make_policy(vm)
    yesterday, today = START, START + timedelta(days=1)
    # Yesterday's run stopped following its action (a stall): the row stays.
    pipeline.engine.should_stop = lambda: pipeline.creates() > 0
    assert pipeline.engine.start_slot(policy, yesterday).result().result is Result.INTERRUPTED
    pipeline.engine.should_stop = lambda: False
    clock.advance(timedelta(days=1).total_seconds())

    outcome = pipeline.engine.start_slot(policy, today).result()

    history = pipeline.ledger.history(vm)
    assert [(record.slot, record.outcome) for record in reversed(history)] == [
        (yesterday, "interrupted"),
        (yesterday, "success"),
        (today, "success"),
    ]
    assert (outcome.slot, outcome.result) == (today, Result.SUCCESS)
    assert pipeline.creates() == 2  # one per slot
    assert pipeline.ledger.pending() == []


class StalledLeadership:
    """A leadership that holds the fleet's lock but whose session has not answered lately."""

    def is_leader(self) -> bool:
        return False

    def holder_pid(self) -> int | None:
        return 4242


def test_a_slot_fired_while_the_leaders_session_stalls_is_counted_and_logged_at_warning(
    fake: FakeHostinger, clock: ManualClock, tmp_path: Path
) -> None:
    from snapd.config import load_config
    from snapd.runtime.daemon import build_daemon

    vm = fake.vm_ids[0]
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(
        f"api: {{base_url: '{fake.base_url}', requests_per_minute: 6000}}\n"
        f'defaults: {{schedule: "0 3 * * *"}}\nvms: [{{id: {vm}}}]\n'
        f"metrics: {{listen: '127.0.0.1:0'}}\nstate_dir: {tmp_path}\n"
    )
    daemon = build_daemon(policy_path, load_config(policy_path), token=TOKEN, clock=clock)
    daemon.leader_role.leadership = StalledLeadership()
    try:
        with structlog.testing.capture_logs() as logs:
            daemon._run_slot(vm, START, "schedule")
    finally:
        daemon._stop()

    skipped = daemon.metrics.registry.get_sample_value(
        "snapd_slots_skipped_total", {"reason": "leadership_unconfirmed"}
    )
    assert skipped == 1.0
    lines = [line for line in logs if line["event"] == "slot_skipped_not_leader"]
    assert [(line["log_level"], line["vm"], line["reason"]) for line in lines] == [
        ("warning", vm, "leadership_unconfirmed")
    ]
    assert fake.count("POST", "/snapshot") == 0
