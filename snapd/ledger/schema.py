"""The SQLite ledger's tables and how an older file is brought up to date.

The tables are described once in :mod:`snapd.ledger.tables`; the steps render them.

``MIGRATIONS[n]`` takes a ledger from schema version ``n`` to ``n + 1``; the version is
kept in ``PRAGMA user_version``. Migrations are only ever appended: a released step is
never edited, because ledgers in the field have already run it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from snapd.ledger.records import LedgerError
from snapd.ledger.tables import (
    ACCOUNT_INDEX,
    ATTEMPT_INDEXES,
    ATTEMPTS,
    HOLDS,
    PENDING_ACTIONS,
    Dialect,
)

SQLITE = Dialect.SQLITE

# "snap" in ASCII: marks the file as a snapd ledger for anyone running `file` on it, and
# lets snapd refuse a database that belongs to another program.
APPLICATION_ID = 0x736E6170

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        ATTEMPTS.create(SQLITE, leave_out="account"),
        *ATTEMPT_INDEXES,
        HOLDS.create(SQLITE),
        # The first shape of pending_actions: every row had its action id then.
        """
        CREATE TABLE pending_actions (
            virtual_machine_id INTEGER PRIMARY KEY,
            action_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            slot TEXT,
            started_at TEXT NOT NULL,
            old_snapshot_id INTEGER,
            old_snapshot_created_at TEXT
        )
        """,
    ),
    (
        # A pending row is now written before the create is sent (its action id still
        # unknown), so that a crash between sending and recording cannot lose it.
        PENDING_ACTIONS.create(SQLITE, name="pending_actions_new", leave_out="server_started_at"),
        "INSERT INTO pending_actions_new SELECT * FROM pending_actions",
        "DROP TABLE pending_actions",
        "ALTER TABLE pending_actions_new RENAME TO pending_actions",
    ),
    (
        # When the attempt began by the API's own clock: an ambiguous send is resolved
        # from the action list without trusting the local clock.
        PENDING_ACTIONS.add_column(SQLITE, "server_started_at"),
    ),
    (
        # Several accounts in one daemon: each attempt names its VM's account; the rows
        # written before get "" (the one account of a policy without ``accounts``).
        ATTEMPTS.add_column(SQLITE, "account"),
        ACCOUNT_INDEX,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection, path: Path) -> int:
    """Bring the ledger behind ``connection`` to :data:`SCHEMA_VERSION`; return that version.

    ``connection`` must be in autocommit mode (``isolation_level=None``). All pending
    steps run in one write transaction, which also settles the race of two processes
    opening a new ledger at once: the second one waits, then finds nothing left to do.

    Raises:
        LedgerError: the file belongs to another program or to a newer snapd.
        sqlite3.Error: the database could not be read or written.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = read_schema(connection, path)
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number]:
                connection.execute(statement)
            # PRAGMA takes no parameters; the value is our own integer.
            connection.execute(f"PRAGMA user_version = {number + 1}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


def read_schema(connection: sqlite3.Connection, path: Path) -> int:
    """The ledger's schema version; raise ``LedgerError`` when it is not a snapd ledger
    or was written by a newer snapd. Reads only."""
    version = _pragma(connection, "user_version")
    application_id = _pragma(connection, "application_id")
    if application_id not in (0, APPLICATION_ID):
        raise LedgerError(
            f"ledger {path} is not a snapd ledger (application id {application_id:#x})"
        )
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"ledger {path} is not a snapd ledger (schema version {version} is newer "
            f"than this snapd, which knows up to {SCHEMA_VERSION})"
        )
    return version


def _pragma(connection: sqlite3.Connection, name: str) -> int:
    row = connection.execute(f"PRAGMA {name}").fetchone()
    return int(row[0])
