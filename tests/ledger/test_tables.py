"""The ledger's shared tables, described once: each database gets the same columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from snapd.ledger import LEDGER_FILE_NAME, SqliteLedger
from snapd.ledger.advisory import ConnectionSettings
from snapd.ledger.tables import ATTEMPTS, HOLDS, PENDING_ACTIONS, Dialect
from tests.support.postgres import PostgresCluster

SHARED = (ATTEMPTS, HOLDS, PENDING_ACTIONS)
# Columns only the shared ledger has: who wrote a pending row, under which lock.
POSTGRESQL_ONLY = {"pending_actions": ["written_by", "lock_token"]}


def described(table_name: str) -> list[str]:
    [table] = [table for table in SHARED if table.name == table_name]
    return [column.name for column in table.columns]


def test_a_new_sqlite_ledger_has_the_described_columns_in_order(tmp_path: Path) -> None:
    SqliteLedger.open(tmp_path).close()

    with sqlite3.connect(tmp_path / LEDGER_FILE_NAME) as connection:
        for table in SHARED:
            rows = connection.execute(f"PRAGMA table_info({table.name})").fetchall()
            assert [row[1] for row in rows] == described(table.name)


def test_a_new_postgresql_ledger_has_the_described_columns_in_order(
    postgres_cluster: PostgresCluster, postgres_dsn: str
) -> None:
    from snapd.ledger.postgres import PostgresLedger

    PostgresLedger.open(ConnectionSettings(postgres_dsn)).close()

    for table in SHARED:
        rows = postgres_cluster.execute(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_name = '{table.name}' ORDER BY ordinal_position",
            dsn=postgres_dsn,
        )
        expected = described(table.name) + POSTGRESQL_ONLY.get(table.name, [])
        assert [row[0] for row in rows] == expected


def test_the_description_is_spelled_in_each_databases_types() -> None:
    sqlite = ATTEMPTS.create(Dialect.SQLITE)
    postgresql = ATTEMPTS.create(Dialect.POSTGRESQL)

    assert "id INTEGER PRIMARY KEY," in sqlite
    assert "id BIGSERIAL PRIMARY KEY," in postgresql
    assert "virtual_machine_id BIGINT NOT NULL," in postgresql
    for ddl in (sqlite, postgresql):
        assert "dry_run INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1))" in ddl


def test_a_column_a_later_step_adds_can_be_left_out_of_the_first_shape() -> None:
    first = PENDING_ACTIONS.create(Dialect.SQLITE, leave_out="server_started_at")

    assert "server_started_at" not in first
    assert PENDING_ACTIONS.add_column(Dialect.SQLITE, "server_started_at") == (
        "ALTER TABLE pending_actions ADD COLUMN server_started_at TEXT"
    )
