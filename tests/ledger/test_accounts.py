"""The ledger's rows name their account; a ledger of the version before accounts keeps its
rows, which belong to the unnamed account "" (SQLite, and a real PostgreSQL)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from snapd.ledger import OperationKind
from snapd.ledger import schema as ledger_schema
from snapd.ledger.advisory import ConnectionSettings
from snapd.ledger.records import AttemptRecord
from snapd.ledger.store import SqliteLedger
from snapd.pipeline.outcome import Result

NOW = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
OLD_ROW = (
    "INSERT INTO attempts (virtual_machine_id, kind, slot, started_at, finished_at, outcome, "
    "reason, dry_run) VALUES (7, 'snapshot', NULL, '2025-01-01T03:00:00.000000Z', "
    "'2025-01-01T03:05:00.000000Z', 'success', 'done', 0)"
)


def _attempt(account: str) -> AttemptRecord:
    return AttemptRecord(
        8, OperationKind.SNAPSHOT, NOW, NOW, NOW, Result.SUCCESS, "done", account=account
    )


def test_a_sqlite_ledger_from_before_accounts_keeps_its_rows_under_the_unnamed_account(
    tmp_path: Path,
) -> None:
    connection = sqlite3.connect(tmp_path / "ledger.sqlite3", isolation_level=None)
    previous = ledger_schema.SCHEMA_VERSION - 1
    for step in ledger_schema.MIGRATIONS[:previous]:
        for statement in step:
            connection.execute(statement)
    connection.execute(f"PRAGMA user_version = {previous}")
    connection.execute(OLD_ROW)
    connection.close()

    with SqliteLedger.open(tmp_path) as ledger:
        ledger.record_attempt(_attempt("agency-b"))
        rows = {(row.virtual_machine_id, row.account) for row in ledger.history()}

    assert rows == {(7, ""), (8, "agency-b")}


def test_a_postgresql_ledger_from_before_accounts_keeps_its_rows_under_the_unnamed_account(
    postgres_dsn: str,
) -> None:
    import psycopg

    from snapd.ledger.postgres import PostgresLedger
    from snapd.ledger.postgres_schema import SCHEMA_VERSION, migrate

    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        assert migrate(connection, "test", upto=SCHEMA_VERSION - 1) == SCHEMA_VERSION - 1
        connection.execute(OLD_ROW)

    with PostgresLedger.open(ConnectionSettings(postgres_dsn)) as ledger:
        ledger.record_attempt(_attempt("agency-b"))
        rows = {(row.virtual_machine_id, row.account) for row in ledger.history()}

    assert rows == {(7, ""), (8, "agency-b")}
