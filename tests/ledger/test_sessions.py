"""The shared ledger's session pool and per-VM leases wait on the injected clock: a manual
clock decides when a caller gives up on a busy pool and when a lease is renewed (a real
PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from snapd.clock import ManualClock
from snapd.ledger import LedgerError, OperationKind
from snapd.ledger.advisory import ConnectionSettings

START = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
MACHINE = 1268054
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


def test_a_caller_gives_up_on_a_busy_pool_when_the_manual_clock_passes_its_wait(
    postgres_dsn: str,
) -> None:
    from snapd.ledger.sessions import SessionPool

    clock = ManualClock(START)
    pool = SessionPool(
        ConnectionSettings(postgres_dsn),
        1,
        statement_timeout_seconds=5.0,
        wait_seconds=30.0,
        clock=clock,
    )
    refusals: list[str] = []

    def second_caller() -> None:
        try:
            with pool.session():
                pass  # pragma: no cover - the only session is lent
        except LedgerError as error:
            refusals.append(str(error))

    caller = threading.Thread(target=second_caller)
    try:
        with pool.session():
            caller.start()
            assert _until(lambda: clock.waiting() == 1)
            clock.advance(29)
            assert caller.is_alive() and refusals == []
            clock.advance(1)
            caller.join(STUCK_SECONDS)
    finally:
        pool.close()
    assert len(refusals) == 1
    assert refusals[0].endswith("session(s) of the VM locks stayed busy for 30 s")


def test_a_held_lease_is_renewed_when_the_manual_clock_passes_a_third_of_it(
    postgres_dsn: str,
) -> None:
    from snapd.ledger.lease_locks import LeasedVirtualMachineLocks
    from snapd.ledger.liveness import ProcessLiveness
    from snapd.ledger.postgres import PostgresLedger
    from snapd.ledger.sessions import SessionPool

    PostgresLedger.open(ConnectionSettings(postgres_dsn)).close()  # the tables
    settings = ConnectionSettings(postgres_dsn)
    clock = ManualClock(START)
    pool = SessionPool(settings, 1, statement_timeout_seconds=5.0, wait_seconds=5.0, clock=clock)
    locks = LeasedVirtualMachineLocks(
        pool, ProcessLiveness(settings, 5.0, clock=clock), lease_seconds=30.0, clock=clock
    )
    try:
        with locks.hold(MACHINE, OperationKind.SNAPSHOT, START):
            taken = _expires_at(postgres_dsn)
            assert _until(lambda: clock.waiting() == 1)  # the renewer, on the clock
            assert _expires_at(postgres_dsn) == taken
            clock.advance(10)
            assert _until(lambda: _expires_at(postgres_dsn) > taken)
    finally:
        locks.close()


def _expires_at(dsn: str) -> datetime:
    """When the VM's lease runs out, as the database has it."""
    import psycopg

    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT expires_at FROM virtual_machine_locks WHERE virtual_machine_id = %s",
            (MACHINE,),
        ).fetchone()
    assert row is not None
    expires: datetime = row[0]
    return expires
