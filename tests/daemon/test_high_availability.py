"""Two ``snapd run`` replicas on one PostgreSQL ledger against one fake API: exactly one
acts, a dead or cut-off leader is replaced within 15 s, and a create is never sent twice.

The fake API runs as its own process (it outlives a killed replica, as the real API
would); PostgreSQL is the session's throwaway cluster. The standby retries the lock every
0.3 s here instead of 2 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.support.daemon import DaemonProcess, kill_while_sending, metric_value
from tests.support.postgres import PostgresCluster
from tests.support.replica import (
    SLOW_PRE_HOOK,
    VM,
    create_actions,
    fake_api_process,
    finish,
    leader,
    lock_holders,
    replica_policy,
    start_pair,
)

TAKEOVER_BOUND_SECONDS = 15.0


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPD_LEADERSHIP_RETRY_SECONDS", "0.3")


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[str]:
    """The fake API's process; yields its base URL."""
    with fake_api_process(tmp_path) as base_url:
        yield base_url


def test_of_two_replicas_exactly_one_acts_and_the_other_is_a_ready_standby(
    fake_api: str, tmp_path: Path, postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    first, second = start_pair(tmp_path, fake_api, postgres_dsn)
    try:
        finished = first.wait_for("snapshot_finished", timeout=30, vm=VM)
        assert leader(first, second) == [1.0, 0.0]
        status, body = second.readiness()
        assert (status, body.split()[0]) == (200, "standby:")
        assert first.readiness() == (200, "ready: leader\n")
        # The operator's view: who holds the fleet's lock, by host and pid.
        holders = lock_holders(postgres_cluster, postgres_dsn)
        assert [row[1].rpartition(":")[2] for row in holders] == [str(first.process.pid)]
    finally:
        finish(first, second)

    assert finished["result"] == "success"
    assert create_actions(fake_api) == 1
    assert second.count("snapshot_requested") == 0


def test_the_standby_takes_over_a_leader_killed_mid_create_and_sends_nothing_again(
    fake_api: str, tmp_path: Path, postgres_dsn: str
) -> None:
    first, second = start_pair(tmp_path, fake_api, postgres_dsn)
    try:
        kill_while_sending(first)
        killed = time.monotonic()
        second.wait_for("leadership_acquired", timeout=TAKEOVER_BOUND_SECONDS)
        takeover = time.monotonic() - killed
        second.wait_for("resuming_pending_action", vm=VM)
        finished = second.wait_for("snapshot_finished", timeout=30, vm=VM)
        assert leader(second) == [1.0]
    finally:
        finish(first, second)

    assert takeover < TAKEOVER_BOUND_SECONDS
    assert finished["result"] == "success"
    assert create_actions(fake_api) == 1


def test_a_leader_whose_session_is_ended_before_it_sends_sends_nothing(
    fake_api: str, tmp_path: Path, postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    hook = SLOW_PRE_HOOK
    first, second = start_pair(tmp_path, fake_api, postgres_dsn, hook)
    backend = first.wait_for("leadership_acquired")["backend_pid"]
    try:
        first.wait_for("run_started", vm=VM)
        postgres_cluster.execute("SELECT pg_terminate_backend(%s)", backend)
        first.wait_for("leadership_lost")
        second.wait_for("leadership_acquired", timeout=TAKEOVER_BOUND_SECONDS)
        # The old leader's run ends after its hook without sending: its fenced intent
        # write is refused, or its stop check sees the lost lead first.
        deadline = time.monotonic() + 20
        while not (
            first.count("run_stopped_not_leader")
            or any(
                event.get("event") == "snapshot_finished" and event.get("result") == "interrupted"
                for event in list(first.events)
            )
        ):
            assert time.monotonic() < deadline, "".join(first.raw)
            time.sleep(0.1)
        # The new leader waited for the old one's VM lock, then made the snapshot.
        finished = second.wait_for("snapshot_finished", timeout=30, vm=VM, result="success")
    finally:
        finish(first, second)

    assert first.count("snapshot_requested") == 0
    assert finished["result"] == "success"
    assert create_actions(fake_api) == 1


def test_a_restart_of_postgresql_leaves_one_leader_and_no_second_create(
    fake_api: str, tmp_path: Path, postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    first, second = start_pair(tmp_path, fake_api, postgres_dsn)
    try:
        first.wait_for("snapshot_finished", timeout=30, vm=VM)
        postgres_cluster.restart()
        deadline = time.monotonic() + TAKEOVER_BOUND_SECONDS
        while first.count("leadership_acquired") + second.count("leadership_acquired") < 2:
            assert time.monotonic() < deadline, "nobody leads after the restart"
            time.sleep(0.1)
        time.sleep(1.0)  # both have had their turns at the lock
        assert sorted(leader(first, second)) == [0.0, 1.0]
        assert first.process.poll() is None and second.process.poll() is None
        errors = [
            metric_value(replica.scrape(), "snapd_ledger_errors_total") or 0.0
            for replica in (first, second)
        ]
        assert sum(errors) >= 1  # the outage is counted, not hidden
    finally:
        finish(first, second)

    assert create_actions(fake_api) == 1


def test_a_hold_set_through_one_replica_is_honoured_by_the_other(
    fake_api: str, tmp_path: Path, postgres_dsn: str
) -> None:
    policy_a = replica_policy(tmp_path, fake_api, postgres_dsn, "a")
    hold = subprocess.run(
        [sys.executable, "-m", "snapd.cli", "hold", "-c", str(policy_a), str(VM),
         "--for", "1h", "--reason", "upgrade"],
        capture_output=True, text=True, env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN},
        timeout=30,
    )  # fmt: skip
    assert hold.returncode == 0, hold.stderr
    second = DaemonProcess(replica_policy(tmp_path, fake_api, postgres_dsn, "b"))
    try:
        second.wait_for("leadership_acquired")
        decision = second.wait_for("decision", vm=VM)
    finally:
        finish(second)

    assert (decision["decision"], decision["reason"]) == ("skip", "held")
    assert create_actions(fake_api) == 0
    # The read-only inspection commands read the shared ledger from anywhere.
    environment = {**os.environ, "HOSTINGER_API_TOKEN": TOKEN}
    for command in ("status", "history"):
        shown = subprocess.run(
            [sys.executable, "-m", "snapd.cli", command, "-c", str(policy_a)],
            capture_output=True, text=True, env=environment, timeout=30,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        assert "upgrade" in shown.stdout or "held" in shown.stdout, (command, shown.stdout)
