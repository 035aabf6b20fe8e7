"""The PostgreSQL ledger beyond the shared contract: migrations, the fence on pending
rows, the fleet's leadership and the per-VM advisory locks (a real PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from snapd.ledger import LedgerError, NotLeaderError, OperationKind, PendingAction
from snapd.ledger.advisory import ConnectionSettings
from snapd.ledger.locks import VirtualMachineBusyError
from tests.support.postgres import PostgresCluster

NOW = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
MACHINE = 1268054


def intent(virtual_machine_id: int = MACHINE) -> PendingAction:
    return PendingAction(virtual_machine_id, None, "snapshot", NOW, NOW)


def test_an_empty_database_is_migrated_to_the_current_version(
    postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    from snapd.ledger.postgres import PostgresLedger
    from snapd.ledger.postgres_schema import SCHEMA_VERSION

    PostgresLedger.open(ConnectionSettings(postgres_dsn)).close()

    rows = postgres_cluster.execute("SELECT version FROM snapd_schema", dsn=postgres_dsn)
    assert rows == [(SCHEMA_VERSION,)]
    tables = postgres_cluster.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", dsn=postgres_dsn
    )
    assert tables == [
        ("attempts",),
        ("holds",),
        ("pending_actions",),
        ("snapd_schema",),
        ("virtual_machine_locks",),
    ]


def test_a_database_of_the_previous_version_is_migrated_and_keeps_its_rows(
    postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    import psycopg

    from snapd.ledger.postgres import PostgresLedger
    from snapd.ledger.postgres_schema import SCHEMA_VERSION, migrate

    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        assert migrate(connection, "test", upto=SCHEMA_VERSION - 1) == SCHEMA_VERSION - 1
        connection.execute(
            "INSERT INTO pending_actions (virtual_machine_id, action_id, kind, slot, started_at) "
            "VALUES (7, 99, 'snapshot', NULL, '2025-01-01T03:00:00.000000Z')"
        )

    with PostgresLedger.open(ConnectionSettings(postgres_dsn)) as ledger:
        pending = ledger.pending_for(7)

    assert pending is not None and pending.action_id == 99
    rows = postgres_cluster.execute("SELECT version FROM snapd_schema", dsn=postgres_dsn)
    assert rows == [(SCHEMA_VERSION,)]


def test_replicas_starting_together_migrate_once(postgres_dsn: str) -> None:
    from snapd.ledger.postgres import PostgresLedger

    errors: list[BaseException] = []

    def start() -> None:
        try:
            PostgresLedger.open(ConnectionSettings(postgres_dsn)).close()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []


def test_a_database_of_a_newer_snapd_is_refused(
    postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    from snapd.ledger.postgres import PostgresLedger

    PostgresLedger.open(ConnectionSettings(postgres_dsn)).close()
    postgres_cluster.execute("UPDATE snapd_schema SET version = 99", dsn=postgres_dsn)

    with pytest.raises(LedgerError, match="schema version 99, newer than this snapd"):
        PostgresLedger.open(ConnectionSettings(postgres_dsn))


def leadership(dsn: str, fleet: str = "default", **settings: Any) -> Any:
    from snapd.ledger.leadership import Leadership

    return Leadership(ConnectionSettings(dsn), fleet, retry_seconds=0.1, **settings)


def test_only_the_leader_may_write_an_intent_and_a_refused_write_writes_nothing(
    postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    from snapd.ledger.postgres import PostgresLedger

    first, second = leadership(postgres_dsn), leadership(postgres_dsn)
    first.start()
    second.start()
    try:
        assert first.is_leader() and not second.is_leader()
        with PostgresLedger.open(ConnectionSettings(postgres_dsn), second) as standby:
            with pytest.raises(NotLeaderError):
                standby.add_pending(intent())
            assert standby.pending() == []
        with PostgresLedger.open(ConnectionSettings(postgres_dsn), first) as leader:
            leader.add_pending(intent())
            assert leader.pending_for(MACHINE) is not None
            # The leader's session is ended by someone else: its next intent is refused
            # even before its own check notices.
            pid = first.holder_pid()
            postgres_cluster.execute("SELECT pg_terminate_backend(%s, 5000)", pid)
            with pytest.raises(NotLeaderError):
                leader.add_pending(intent(MACHINE + 1))
            assert leader.pending_for(MACHINE + 1) is None
    finally:
        first.stop()
        second.stop()


def test_two_fleets_on_one_database_each_have_a_leader(postgres_dsn: str) -> None:
    web, databases = leadership(postgres_dsn, "web"), leadership(postgres_dsn, "databases")
    web.start()
    databases.start()
    try:
        assert web.is_leader() and databases.is_leader()
        assert web.lock_key != databases.lock_key
    finally:
        web.stop()
        databases.stop()


def test_a_virtual_machine_locked_on_one_host_is_busy_for_every_other(postgres_dsn: str) -> None:
    from snapd.ledger.lease_locks import LeasedVirtualMachineLocks
    from snapd.ledger.liveness import ProcessLiveness
    from snapd.ledger.postgres import PostgresLedger
    from snapd.ledger.sessions import SessionPool

    PostgresLedger.open(ConnectionSettings(postgres_dsn)).close()  # the tables

    def host_locks() -> LeasedVirtualMachineLocks:
        settings = ConnectionSettings(postgres_dsn)
        pool = SessionPool(settings, 1, statement_timeout_seconds=5.0, wait_seconds=5.0)
        return LeasedVirtualMachineLocks(pool, ProcessLiveness(settings, 5.0))

    daemon, laptop = host_locks(), host_locks()

    with daemon.hold(MACHINE, OperationKind.SNAPSHOT, NOW):
        with (
            pytest.raises(VirtualMachineBusyError) as raised,
            laptop.hold(MACHINE, OperationKind.RESTORE, NOW),
        ):
            pass  # pragma: no cover - refused
        with laptop.hold(MACHINE + 1, OperationKind.RESTORE, NOW):
            pass
    with laptop.hold(MACHINE, OperationKind.RESTORE, NOW):
        pass

    daemon.close()
    laptop.close()
    assert raised.value.purpose is not None and raised.value.purpose.startswith("snapshot on ")
    assert raised.value.since == "2025-01-01T03:00:00Z"


def terminate_other_sessions(cluster: PostgresCluster, dsn: str) -> None:
    cluster.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        dsn=dsn,
    )


def test_a_lost_connection_fails_one_call_and_the_next_one_connects_again(
    postgres_cluster: PostgresCluster, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snapd.ledger import postgres
    from snapd.ledger.postgres import PostgresLedger

    monkeypatch.setattr(postgres, "IDLE_CHECK_SECONDS", 3600.0)  # a connection just used
    with PostgresLedger.open(ConnectionSettings(postgres_dsn)) as ledger:
        ledger.add_pending(intent())
        terminate_other_sessions(postgres_cluster, postgres_dsn)

        with pytest.raises(LedgerError) as raised:
            ledger.pending()
        assert raised.value.args[0].startswith("ledger postgresql://")
        assert [item.virtual_machine_id for item in ledger.pending()] == [MACHINE]


def test_a_connection_lost_while_idle_is_replaced_before_the_call_that_needs_it(
    postgres_cluster: PostgresCluster, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database restart between two quiet periods costs a reconnect, not an error: a
    new leader's first look at the ledger after the restart must not give the lead up."""
    from snapd.ledger import postgres
    from snapd.ledger.postgres import PostgresLedger

    monkeypatch.setattr(postgres, "IDLE_CHECK_SECONDS", 0.0)  # every use counts as idle
    with PostgresLedger.open(ConnectionSettings(postgres_dsn)) as ledger:
        ledger.add_pending(intent())
        terminate_other_sessions(postgres_cluster, postgres_dsn)

        assert [item.virtual_machine_id for item in ledger.pending()] == [MACHINE]
