"""The PostgreSQL ledger's tables, and how a database is brought up to date.

The tables are the SQLite ledger's (``attempts``, ``holds``, ``pending_actions``,
described once in :mod:`snapd.ledger.tables`), with timestamps kept as the same
fixed-width UTC text (text order is time order), so both backends read and write rows
alike. ``MIGRATIONS[n]`` takes the database from version ``n`` to ``n + 1``; the version
is a row of ``snapd_schema``. Migrations are only ever
appended. They run under a transaction-level advisory lock, so replicas that start
together migrate once: the others wait, then find nothing left to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snapd.ledger.records import LedgerError
from snapd.ledger.tables import (
    ACCOUNT_INDEX,
    ATTEMPT_INDEXES,
    ATTEMPTS,
    HOLDS,
    PENDING_ACTIONS,
    Dialect,
)

if TYPE_CHECKING:
    import psycopg

POSTGRESQL = Dialect.POSTGRESQL

# Advisory lock keys are two 32-bit numbers: this first one ("snap" in ASCII) marks a
# lock as snapd's, the second names what is locked.
LOCK_NAMESPACE = 0x736E6170
MIGRATION_LOCK = 0  # second key of the lock held while migrating

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE snapd_schema (version INTEGER NOT NULL)",
        "INSERT INTO snapd_schema (version) VALUES (0)",
        ATTEMPTS.create(POSTGRESQL, leave_out="account"),
        *ATTEMPT_INDEXES,
        HOLDS.create(POSTGRESQL),
        PENDING_ACTIONS.create(POSTGRESQL),
    ),
    (
        # Which process wrote a pending row (host and pid): with replicas, the operator
        # asking "who sent this?" has more than one machine to look at.
        "ALTER TABLE pending_actions ADD COLUMN written_by TEXT",
    ),
    (
        # Per-VM operation locks as rows with a lease (renewed by the holder), the
        # holder's liveness key and a fencing token (a new number at every acquisition),
        # instead of one session per held lock; a pending row names the token of the
        # lock it was written under.
        "CREATE SEQUENCE virtual_machine_lock_tokens",
        """
        CREATE TABLE virtual_machine_locks (
            virtual_machine_id BIGINT PRIMARY KEY,
            token BIGINT NOT NULL,
            holder_key BIGINT NOT NULL,
            holder TEXT NOT NULL,
            purpose TEXT NOT NULL,
            since TEXT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )
        """,
        "ALTER TABLE pending_actions ADD COLUMN lock_token BIGINT",
    ),
    (
        # Several accounts in one daemon: each attempt names its VM's account; the rows
        # written before get "" (the one account of a policy without ``accounts``).
        ATTEMPTS.add_column(POSTGRESQL, "account"),
        ACCOUNT_INDEX,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: psycopg.Connection[Any], location: str, upto: int = SCHEMA_VERSION) -> int:
    """Bring the database behind ``connection`` (psycopg, autocommit) to version ``upto``.

    Every pending step runs in one transaction holding the migration lock; returns the
    version found afterwards.

    Raises:
        LedgerError: the database was migrated by a newer snapd.
        psycopg.Error: it could not be read or written.
    """
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, MIGRATION_LOCK))
        version = read_version(connection, location)
        for number in range(version, upto):
            for statement in MIGRATIONS[number]:
                connection.execute(statement)
            connection.execute("UPDATE snapd_schema SET version = %s", (number + 1,))
    return max(version, upto)


def read_version(connection: psycopg.Connection[Any], location: str) -> int:
    """The schema version (0 for an empty database); ``LedgerError`` when it is newer
    than this snapd knows."""
    exists = connection.execute("SELECT to_regclass('snapd_schema') IS NOT NULL").fetchone()
    if exists is None or not exists[0]:
        return 0
    row = connection.execute("SELECT version FROM snapd_schema").fetchone()
    version = 0 if row is None else int(row[0])
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"ledger {location} has schema version {version}, newer than this snapd, "
            f"which knows up to {SCHEMA_VERSION}"
        )
    return version
