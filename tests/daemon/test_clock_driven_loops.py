"""The daemon's waiting loops wait on the injected clock: a manual clock drives them, with
no real-time wait in between (the poller's next look, the leadership's retries, the
inventory's spacing, the watchdog's interval)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, cast

from prometheus_client import CollectorRegistry

from snapd.clock import ManualClock
from snapd.daemon.inventory import FleetInventory
from snapd.daemon.systemd import Watchdog
from snapd.fakeapi import FakeHostinger
from snapd.hostinger import HostingerClient
from snapd.hostinger.budget import RequestBudget
from snapd.ledger.advisory import ConnectionSettings
from snapd.metrics import Metrics
from snapd.pipeline.poller import ActionPoller
from tests.conftest import START, TOKEN, make_policy
from tests.support.inventory import Listener

# A bound on real time for what should happen at once: never waited out when it does.
STUCK_SECONDS = 10.0


def _until(condition: Any) -> bool:
    """Whether ``condition()`` turns true within STUCK_SECONDS of real time."""
    pause = threading.Event()
    for _ in range(int(STUCK_SECONDS / 0.005)):
        if condition():
            return True
        pause.wait(0.005)
    return bool(condition())


def test_an_inventory_pass_waits_its_spacing_on_the_manual_clock() -> None:
    clock = ManualClock(START)
    with FakeHostinger(token=TOKEN, vm_count=2, seed=4, clock=clock) as fake:
        policies = [make_policy(vm) for vm in fake.vm_ids]
        with HostingerClient(
            base_url=fake.base_url, token=TOKEN, timeout=5.0, budget=RequestBudget(100_000)
        ) as client:
            inventory = FleetInventory(
                client,
                Listener(Metrics(CollectorRegistry())),
                Metrics(CollectorRegistry()),
                lambda: policies,
                threading.Event(),
                3600.0,  # an hour between two requests: a real wait would hang the test
                clock=clock,
            )
            passing = threading.Thread(target=inventory.run_pass, daemon=True)
            passing.start()
            pauses = 0
            while _until(lambda: clock.waiting() == 1 or not passing.is_alive()):
                if not passing.is_alive():
                    break
                seen = len(fake.requests)
                pauses += 1
                clock.advance(3600)  # the next request goes out only now
                assert _until(lambda seen=seen: len(fake.requests) > seen)
            # The list, then each VM's snapshot (and backups) after a spacing each.
            assert pauses >= len(policies)
            assert len(fake.requests) == pauses + 1


def test_the_watchdog_checks_once_per_interval_of_the_manual_clock() -> None:
    clock = ManualClock(START)
    checks: list[int] = []

    def healthy() -> bool:
        checks.append(1)
        return False  # no ping to send: only the count of rounds matters here

    watchdog = Watchdog(healthy, interval=30.0, environ={}, clock=clock)
    watchdog.start()
    try:
        assert _until(lambda: clock.waiting() == 1)
        assert checks == [1]
        clock.advance(30)
        assert _until(lambda: len(checks) == 2 and clock.waiting() == 1)
    finally:
        watchdog.stop()
    assert not watchdog.active


def test_a_standby_tries_for_the_lead_again_only_when_the_manual_clock_passes_its_retry(
    postgres_dsn: str,
) -> None:
    from snapd.ledger.leadership import Leadership

    clock = ManualClock(START)
    leader = Leadership(ConnectionSettings(postgres_dsn), "default", retry_seconds=0.1)
    standby = Leadership(
        ConnectionSettings(postgres_dsn), "default", retry_seconds=30.0, clock=clock
    )
    leader.start()
    standby.start()
    try:
        assert leader.is_leader() and not standby.is_leader()
        leader.stop()  # the lock is free once the server has ended the leader's session
        # Closing a session returns before the server ends its backend: a try before
        # that finds the lock still held and waits another 30 s of the manual clock.
        assert _until(lambda: not _advisory_locks_held(postgres_dsn))
        assert _until(lambda: clock.waiting() == 1)
        assert not standby.is_leader()
        clock.advance(30)
        assert _until(standby.is_leader)
    finally:
        standby.stop()
        leader.stop()


def _advisory_locks_held(dsn: str) -> int:
    """How many advisory locks sessions hold in the test's database (the leadership's)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    return int(row[0]) if row else 0


class _TwoLooks:
    """An action that ends at its second look, looked at every minute."""

    virtual_machine_id = 7

    def __init__(self) -> None:
        self.looks = 0

    def pause(self, now: datetime) -> float:
        return 60.0

    def poll(self, client: HostingerClient) -> str | None:
        self.looks += 1
        return "success" if self.looks == 2 else None

    def expired(self, now: datetime) -> str | None:
        return None

    def stopped(self) -> str:
        return "stopped"


def test_the_poller_looks_at_an_action_when_the_manual_clock_reaches_its_next_look() -> None:
    clock = ManualClock(START)
    poller = ActionPoller(cast(HostingerClient, None), clock, lambda step: step())
    watch = _TwoLooks()
    ends: list[str | None] = []
    poller.watch(watch).subscribe(lambda result, error: ends.append(result))
    try:
        assert _until(lambda: clock.waiting() == 1)
        assert watch.looks == 0
        clock.advance(60)
        assert _until(lambda: watch.looks == 1 and clock.waiting() == 1)
        assert ends == []
        clock.advance(60)
        assert _until(lambda: ends == ["success"])
    finally:
        poller.close(STUCK_SECONDS)
