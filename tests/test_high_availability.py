"""Two ``snapd run`` replicas on one PostgreSQL ledger against one fake API: exactly one
acts, a dead or cut-off leader is replaced within 15 s, and a create is never sent twice.

The fake API runs as its own process (it outlives a killed replica, as the real API
would); PostgreSQL is the session's throwaway cluster. The standby retries the lock every
0.3 s here instead of 2 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import TOKEN
from tests.daemon_support import DaemonProcess, metric_value
from tests.postgres_support import PostgresCluster

VM = 1268054
# The create is answered after 2 s (executed whatever the client does meanwhile) and the
# snapshot takes 2 s more.
FAKE = [
    "--vms", "1", "--action-seconds", "2",
    "--fault", "create_snapshot:latency:seconds=2:count=1",
]  # fmt: skip
TAKEOVER_BOUND_SECONDS = 15.0
LEADER_QUERY = """
SELECT activity.application_name FROM pg_locks AS locks
JOIN pg_stat_activity AS activity USING (pid)
WHERE locks.locktype = 'advisory' AND locks.granted AND locks.classid::bigint = 1936616548
"""


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPD_LEADERSHIP_RETRY_SECONDS", "0.3")


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[str]:
    """A ``snapd fake-api`` process on a free port; yields its base URL."""
    token_file = tmp_path / "fake-token"
    token_file.write_text(TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "snapd.fakeapi", "--listen", "127.0.0.1:0",
         "--token-file", str(token_file), *FAKE],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    try:
        yield first.removeprefix("fake Hostinger API listening on ")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def create_actions(base_url: str) -> int:
    answer = requests.get(
        f"{base_url}/api/vps/v1/virtual-machines/{VM}/actions",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    return sum(1 for action in answer.json()["data"] if action["name"] == "create_snapshot")


def write_policy(tmp_path: Path, base_url: str, dsn: str, name: str, extra: str = "") -> Path:
    """The policy of one replica: its own state_dir, the shared ledger."""
    state_dir = tmp_path / f"state-{name}"
    state_dir.mkdir(exist_ok=True)
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"api: {{base_url: '{base_url}', timeout: 10s, requests_per_minute: 6000}}\n"
        f'defaults: {{schedule: "0 3 * * *", catch_up: 2d{extra}}}\n'
        f"vms:\n  - {{id: {VM}}}\n"
        "metrics: {listen: '127.0.0.1:0'}\n"
        f"state_dir: {state_dir}\n"
        f"ledger: {{backend: postgresql, dsn: '{dsn}', fleet: web}}\n"
        "log: {format: json}\n"
    )
    return path


def leader(*replicas: DaemonProcess) -> list[float | None]:
    return [metric_value(replica.scrape(), "snapd_leader") for replica in replicas]


def finish(*replicas: DaemonProcess) -> str:
    """Stop every replica still running; their logs, checked for tracebacks and the token."""
    for replica in replicas:
        replica.stop()
    log = "".join(line for replica in replicas for line in replica.raw)
    assert "Traceback" not in log
    assert TOKEN not in log
    return log


def test_of_two_replicas_exactly_one_acts_and_the_other_is_a_ready_standby(
    fake_api: str, tmp_path: Path, postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    first = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "a"))
    first.wait_for("leadership_acquired")
    second = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "b"))
    try:
        second.wait_for("started")
        finished = first.wait_for("snapshot_finished", timeout=30, vm=VM)
        assert leader(first, second) == [1.0, 0.0]
        status, body = second.readiness()
        assert (status, body.split()[0]) == (200, "standby:")
        assert first.readiness() == (200, "ready: leader\n")
        # The operator's view: who holds the fleet's lock, by host and pid.
        holders = postgres_cluster.execute(LEADER_QUERY, dsn=postgres_dsn)
        assert [row[0].rpartition(":")[2] for row in holders] == [str(first.process.pid)]
    finally:
        finish(first, second)

    assert finished["result"] == "success"
    assert create_actions(fake_api) == 1
    assert second.count("snapshot_requested") == 0


def test_the_standby_takes_over_a_leader_killed_mid_create_and_sends_nothing_again(
    fake_api: str, tmp_path: Path, postgres_dsn: str
) -> None:
    first = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "a"))
    first.wait_for("leadership_acquired")
    second = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "b"))
    try:
        second.wait_for("started")
        first.wait_for("decision", decision="create")  # the create is on its way
        os.kill(first.process.pid, signal.SIGKILL)
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
    # A slow pre-hook holds the leader just before its create.
    hook = ", pre_hook: {command: [sleep, '2']}"
    first = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "a", hook))
    backend = first.wait_for("leadership_acquired")["backend_pid"]
    second = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "b", hook))
    try:
        second.wait_for("started")
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
    first = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "a"))
    first.wait_for("leadership_acquired")
    second = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "b"))
    try:
        second.wait_for("started")
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
    policy_a = write_policy(tmp_path, fake_api, postgres_dsn, "a")
    hold = subprocess.run(
        [sys.executable, "-m", "snapd.cli", "hold", "-c", str(policy_a), str(VM),
         "--for", "1h", "--reason", "upgrade"],
        capture_output=True, text=True, env={**os.environ, "HOSTINGER_API_TOKEN": TOKEN},
        timeout=30,
    )  # fmt: skip
    assert hold.returncode == 0, hold.stderr
    second = DaemonProcess(write_policy(tmp_path, fake_api, postgres_dsn, "b"))
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
