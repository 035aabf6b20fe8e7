"""Per-VM locks on a shared PostgreSQL ledger under faults: a lease lost during a pre-hook
while another host takes the VM, and hundreds of VMs in flight on a few sessions.

Two "hosts" run in this process, each with its own ledger connection, its own leased
locks (own session pool) and its own pipeline, against one fake API and one database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client import CollectorRegistry

from snapd.checks.hooks import HookResult
from snapd.clock import ManualClock
from snapd.config import HookCommand, VirtualMachinePolicy
from snapd.fakeapi import FakeHostinger
from snapd.hostinger import HostingerClient
from snapd.ledger import OperationKind, PendingAction
from snapd.ledger.advisory import ConnectionSettings
from snapd.metrics import Metrics
from snapd.pipeline.engine import Engine
from snapd.pipeline.outcome import Result
from snapd.pipeline.wait import PollSettings
from tests.conftest import TOKEN, make_policy
from tests.faults.harness import manual_budget
from tests.support.postgres import PostgresCluster

HOOK = HookCommand(("pre-hook",), timedelta(minutes=1))
HookRunner = Callable[[HookCommand, Mapping[str, str]], HookResult]


def passing_hook(command: HookCommand, environment: Mapping[str, str]) -> HookResult:
    return HookResult(ok=True, detail="exit 0")


@dataclass
class Host:
    """One host's snapd: its own ledger connection, leased locks and pipeline."""

    name: str
    engine: Engine
    metrics: Metrics
    closers: list[Callable[[], None]]

    def close(self) -> None:
        for close in self.closers:
            close()


def open_host(
    name: str, dsn: str, fake: FakeHostinger, clock: ManualClock, hook: HookRunner
) -> Host:
    from snapd.ledger.lease_locks import LeasedVirtualMachineLocks
    from snapd.ledger.liveness import ProcessLiveness
    from snapd.ledger.postgres import PostgresLedger
    from snapd.ledger.sessions import SessionPool

    settings = ConnectionSettings(dsn, None, f"snapd locks {name}")
    ledger = PostgresLedger.open(ConnectionSettings(dsn, None, f"snapd ledger {name}"))
    pool = SessionPool(settings, 2, statement_timeout_seconds=5.0, wait_seconds=5.0)
    locks = LeasedVirtualMachineLocks(pool, ProcessLiveness(settings, 5.0), lease_seconds=30.0)
    ledger.fence_with(locks)
    metrics = Metrics(CollectorRegistry())
    client = HostingerClient(
        base_url=fake.base_url, token=TOKEN, timeout=5.0, budget=manual_budget(clock),
        retry_total_seconds=5.0, backoff_factor=0.01, clock=clock,
    )  # fmt: skip
    poll = PollSettings(first_delay=10.0, minimum_delay=1.0, maximum_delay=60.0)
    engine = Engine(
        client, ledger, locks, clock, observer=metrics, poll=poll, hook_runner=hook,
        health_check=lambda _: HookResult(ok=True, detail="200"),
    )  # fmt: skip
    metrics.register_vms(fake.vm_ids)
    return Host(name, engine, metrics, [client.close, locks.close, ledger.close])


@pytest.fixture
def hosts() -> Iterator[list[Host]]:
    opened: list[Host] = []
    yield opened
    for host in opened:
        host.close()


def unguarded(vm: int, **changes: Any) -> VirtualMachinePolicy:
    """A policy whose age guards let any snapshot be replaced: only the lock decides."""
    return make_policy(vm, min_age=timedelta(0), protect_manual=timedelta(0), **changes)


def end_lock_sessions(cluster: PostgresCluster, dsn: str, host: str) -> None:
    """What a database failover or a network drop does to a host: its lock sessions end
    (the liveness session among them, so its leases may be taken at once)."""
    cluster.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = %s",
        f"snapd locks {host}",
        dsn=dsn,
    )


def test_a_lock_lost_during_the_pre_hook_sends_nothing_and_leaves_the_other_hosts_row(
    postgres_cluster: PostgresCluster,
    postgres_dsn: str,
    fake: FakeHostinger,
    clock: ManualClock,
    hosts: list[Host],
) -> None:
    vm = fake.vm_ids[0]
    laptop = open_host("laptop", postgres_dsn, fake, clock, passing_hook)
    # The laptop's `once` stops following its action once sent: its pending row stays,
    # as it does while the action runs.
    laptop.engine.should_stop = lambda: fake.count("POST", "/snapshot") > 0
    during_hook: list[Any] = []

    def slow_pre_hook(command: HookCommand, environment: Mapping[str, str]) -> HookResult:
        end_lock_sessions(postgres_cluster, postgres_dsn, "daemon")
        during_hook.append(laptop.engine.start_slot(unguarded(vm), None).result())
        return HookResult(ok=True, detail="exit 0")

    daemon = open_host("daemon", postgres_dsn, fake, clock, slow_pre_hook)
    hosts.extend([laptop, daemon])

    with structlog.testing.capture_logs() as logs:
        outcome = daemon.engine.start_slot(unguarded(vm, pre_hook=HOOK), None).result()

    assert fake.count("POST", "/snapshot") == 1  # the laptop's, and only it
    assert during_hook[0].action_id is not None
    assert (outcome.result, outcome.reason) == (Result.FAILED, "lock_lost")
    pending = daemon.engine.ledger.pending_for(vm)
    assert pending is not None and pending.action_id == during_hook[0].action_id
    failed = daemon.metrics.registry.get_sample_value(
        "snapd_snapshot_attempts_total",
        {"vm": str(vm), "result": "failed"},
    )
    assert failed == 1.0
    finished = [line for line in logs if line["event"] == "snapshot_finished"]
    # The laptop's line (it stopped following its action), then the daemon's.
    assert [line["reason"] for line in finished] == ["interrupted", "lock_lost"]


def test_a_pending_row_of_another_holder_whose_lease_is_alive_is_not_replaced(
    postgres_dsn: str, fake: FakeHostinger, clock: ManualClock, hosts: list[Host]
) -> None:
    from snapd.ledger import LockLostError

    vm = fake.vm_ids[0]
    daemon = open_host("daemon", postgres_dsn, fake, clock, passing_hook)
    laptop = open_host("laptop", postgres_dsn, fake, clock, passing_hook)
    hosts.extend([daemon, laptop])
    started = clock.now()
    mine = PendingAction(vm, None, OperationKind.SNAPSHOT, None, started)

    with daemon.engine.locks.hold(vm, OperationKind.SNAPSHOT, started):
        daemon.engine.ledger.add_pending(mine)
        with pytest.raises(LockLostError):  # written without the VM's lock
            laptop.engine.ledger.add_pending(
                PendingAction(vm, 7, OperationKind.RESTORE, None, started)
            )
        assert laptop.engine.ledger.pending_for(vm) == mine


def test_a_slot_that_cannot_get_a_lock_session_is_recorded_as_failed_with_a_reason(
    postgres_dsn: str, fake: FakeHostinger, clock: ManualClock
) -> None:
    from snapd.ledger.lease_locks import LeasedVirtualMachineLocks
    from snapd.ledger.liveness import ProcessLiveness
    from snapd.ledger.postgres import PostgresLedger
    from snapd.ledger.sessions import SessionPool

    vm, other = fake.vm_ids[0], fake.vm_ids[1]
    settings = ConnectionSettings(postgres_dsn)
    pool = SessionPool(settings, 1, statement_timeout_seconds=5.0, wait_seconds=0.2)
    locks = LeasedVirtualMachineLocks(pool, ProcessLiveness(settings, 5.0))
    metrics = Metrics(CollectorRegistry())
    client = HostingerClient(base_url=fake.base_url, token=TOKEN, budget=manual_budget(clock))
    with PostgresLedger.open(settings) as ledger, pool.session():  # the only session, busy
        engine = Engine(client, ledger, locks, clock, observer=metrics)
        with structlog.testing.capture_logs() as logs:
            outcome = engine.start_slot(unguarded(vm), None).result()
        history = ledger.history(vm)
    client.close()
    locks.close()

    assert (outcome.result, outcome.reason) == (Result.FAILED, "lock_unavailable")
    assert "stayed busy" in outcome.detail
    assert [(record.outcome, record.reason) for record in history] == [
        ("failed", "lock_unavailable")
    ]
    assert fake.count("POST", "/snapshot") == 0
    assert (
        metrics.registry.get_sample_value(
            "snapd_snapshot_attempts_total", {"vm": str(vm), "result": "failed"}
        )
        == 1.0
    )
    assert [line["reason"] for line in logs if line["event"] == "snapshot_finished"] == [
        "lock_unavailable"
    ]
    assert other not in {record.virtual_machine_id for record in history}


def test_two_hundred_virtual_machines_in_flight_use_no_more_sessions_than_the_bound(
    postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    from snapd.config.ledger import LedgerSettings
    from snapd.ledger.backends import fence_pending_rows, open_shared_ledger, shared_operation_locks

    settings = LedgerSettings(backend="postgresql", dsn=postgres_dsn)  # max_connections 4
    locks = shared_operation_locks(settings)
    all_in = threading.Barrier(201)
    measured = threading.Event()
    now = clock_now(postgres_cluster)

    def one_slot(vm: int) -> None:
        with locks.hold(vm, OperationKind.SNAPSHOT, now):
            ledger.add_pending(PendingAction(vm, None, OperationKind.SNAPSHOT, None, now))
            all_in.wait(timeout=60)
            measured.wait(timeout=60)

    with open_shared_ledger(settings, None) as ledger:
        fence_pending_rows(ledger, locks)
        threads = [threading.Thread(target=one_slot, args=(vm,)) for vm in range(1000, 1200)]
        for thread in threads:
            thread.start()
        all_in.wait(timeout=60)
        sessions = count_sessions(postgres_cluster, postgres_dsn)
        held = postgres_cluster.execute(
            "SELECT count(*) FROM virtual_machine_locks WHERE expires_at > now()",
            dsn=postgres_dsn,
        )[0][0]
        measured.set()
        for thread in threads:
            thread.join(timeout=60)
        pending = len(ledger.pending())
    locks.close()

    assert held == 200 and pending == 200
    # The ledger's session and the locks' pool; a daemon adds its leadership's, within 4.
    assert sessions <= settings.max_connections - 1


def clock_now(cluster: PostgresCluster) -> Any:
    return cluster.execute("SELECT now()")[0][0]


def count_sessions(cluster: PostgresCluster, dsn: str) -> int:
    """Sessions on the test's database, the counting one left out."""
    rows = cluster.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()",
        dsn=dsn,
    )
    return int(rows[0][0])


def test_one_daemon_with_two_hundred_virtual_machines_in_flight_stays_within_four_sessions(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    from bench.pg_sessions import measure
    from snapd.config.ledger import DEFAULT_MAX_CONNECTIONS

    measured = measure(postgres_cluster, tmp_path, vms=200, action_seconds=60.0)

    assert measured["in_flight"] == 200
    assert measured["sessions"] <= DEFAULT_MAX_CONNECTIONS == 4


def test_lock_sessions_the_server_ended_while_idle_are_replaced_not_failed(
    postgres_cluster: PostgresCluster, postgres_dsn: str, fake: FakeHostinger, clock: ManualClock
) -> None:
    from snapd.ledger.postgres import IDLE_CHECK_SECONDS

    vm = fake.vm_ids[0]
    daemon = open_host("daemon", postgres_dsn, fake, clock, passing_hook)
    try:
        locks = daemon.engine.locks
        with locks.hold(vm, OperationKind.SNAPSHOT, clock.now()):
            pass
        # What idle_session_timeout or a database restart does to idle sessions.
        end_lock_sessions(postgres_cluster, postgres_dsn, "daemon")
        time.sleep(IDLE_CHECK_SECONDS + 0.1)
        with locks.hold(vm, OperationKind.SNAPSHOT, clock.now()):
            token = locks.token_of(vm)  # type: ignore[attr-defined]
            daemon.engine.ledger.add_pending(PendingAction(vm, None, "snapshot", None, clock.now()))
    finally:
        daemon.close()

    assert token is not None
