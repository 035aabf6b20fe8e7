"""The ledger's shared tables, described once and written as each database's DDL.

``attempts``, ``holds`` and ``pending_actions`` have the same columns in SQLite and in
PostgreSQL; only the column types are spelled differently (a 64-bit id is ``INTEGER`` in
SQLite, ``BIGINT`` in PostgreSQL; the row id is ``INTEGER PRIMARY KEY`` or
``BIGSERIAL PRIMARY KEY``). Timestamps are fixed-width UTC text in both (see
:mod:`snapd.ledger.records`). Each schema module's migrations render these descriptions;
a column added later is a new migration step (``ALTER TABLE``), never an edit here, since
a released step must create what it always created.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Dialect(StrEnum):
    """The databases a ledger can live in."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class ColumnType(StrEnum):
    """What a column holds, whatever the database calls it."""

    ROW_ID = "row_id"  # a generated primary key
    NUMBER = "number"  # a 64-bit id (VM, action, snapshot)
    TEXT = "text"
    FLAG = "flag"  # 0 or 1, 0 unless given


TYPE_NAMES: dict[Dialect, dict[ColumnType, str]] = {
    Dialect.SQLITE: {
        ColumnType.ROW_ID: "INTEGER PRIMARY KEY",
        ColumnType.NUMBER: "INTEGER",
        ColumnType.TEXT: "TEXT",
        ColumnType.FLAG: "INTEGER NOT NULL DEFAULT 0",
    },
    Dialect.POSTGRESQL: {
        ColumnType.ROW_ID: "BIGSERIAL PRIMARY KEY",
        ColumnType.NUMBER: "BIGINT",
        ColumnType.TEXT: "TEXT",
        ColumnType.FLAG: "INTEGER NOT NULL DEFAULT 0",
    },
}


@dataclass(frozen=True)
class Column:
    """One column: its name, what it holds and its constraint (SQL both databases read)."""

    name: str
    type: ColumnType
    constraint: str = ""

    def render(self, dialect: Dialect) -> str:
        """The column's definition in ``dialect``'s DDL."""
        parts = [self.name, TYPE_NAMES[dialect][self.type], self.constraint]
        if self.type is ColumnType.FLAG:
            parts.append(f"CHECK ({self.name} IN (0, 1))")
        return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class Table:
    """A table's name and columns, in order."""

    name: str
    columns: tuple[Column, ...]

    def create(self, dialect: Dialect, *, name: str | None = None, leave_out: str = "") -> str:
        """``CREATE TABLE`` for ``dialect`` (as ``name`` if given), without the column
        named ``leave_out`` (one a later migration step adds)."""
        columns = (column.render(dialect) for column in self.columns if column.name != leave_out)
        body = ",\n    ".join(columns)
        return f"CREATE TABLE {name or self.name} (\n    {body}\n)"

    def add_column(self, dialect: Dialect, column_name: str) -> str:
        """``ALTER TABLE … ADD COLUMN`` for the column named ``column_name``."""
        [column] = [column for column in self.columns if column.name == column_name]
        return f"ALTER TABLE {self.name} ADD COLUMN {column.render(dialect)}"


NUMBER, TEXT = ColumnType.NUMBER, ColumnType.TEXT
REQUIRED = "NOT NULL"

ATTEMPTS = Table(
    "attempts",
    (
        Column("id", ColumnType.ROW_ID),
        Column("virtual_machine_id", NUMBER, REQUIRED),
        Column("kind", TEXT, REQUIRED),
        Column("slot", TEXT),
        Column("started_at", TEXT, REQUIRED),
        Column("finished_at", TEXT, REQUIRED),
        Column("outcome", TEXT, REQUIRED),
        Column("reason", TEXT, REQUIRED),
        Column("action_id", NUMBER),
        Column("old_snapshot_id", NUMBER),
        Column("old_snapshot_created_at", TEXT),
        Column("new_snapshot_id", NUMBER),
        Column("new_snapshot_created_at", TEXT),
        Column("correlation_id", TEXT),
        Column("dry_run", ColumnType.FLAG),
        # The ``accounts`` entry of the VM; "" for a policy without accounts, and for
        # every row written before there were accounts (the migration's default).
        Column("account", TEXT, "NOT NULL DEFAULT ''"),
    ),
)
ATTEMPT_INDEXES = (
    "CREATE INDEX attempts_by_finish ON attempts (virtual_machine_id, finished_at)",
    "CREATE INDEX attempts_by_slot ON attempts (virtual_machine_id, slot)",
)
# Added with the account column: one account's history without scanning the others'.
ACCOUNT_INDEX = "CREATE INDEX attempts_by_account ON attempts (account, virtual_machine_id, slot)"

HOLDS = Table(
    "holds",
    (
        Column("virtual_machine_id", NUMBER, "PRIMARY KEY"),
        Column("until", TEXT, REQUIRED),
        Column("reason", TEXT, REQUIRED),
        Column("created_at", TEXT, REQUIRED),
    ),
)

PENDING_ACTIONS = Table(
    "pending_actions",
    (
        Column("virtual_machine_id", NUMBER, "PRIMARY KEY"),
        Column("action_id", NUMBER),  # None while the request is being sent
        Column("kind", TEXT, REQUIRED),
        Column("slot", TEXT),
        Column("started_at", TEXT, REQUIRED),
        Column("old_snapshot_id", NUMBER),
        Column("old_snapshot_created_at", TEXT),
        Column("server_started_at", TEXT),
    ),
)
