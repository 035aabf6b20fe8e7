"""Opening the ledger for reading only: for a user who may read it but not write it.

Nothing is created or changed (no folder, no file, no migration), and the schema must be
this snapd's already. A WAL ledger whose last writer checkpointed it is read as
immutable when the reader cannot create its shared-memory file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from snapd.ledger.connection import BUSY_TIMEOUT, LEDGER_FILE_NAME
from snapd.ledger.records import LedgerError
from snapd.ledger.schema import SCHEMA_VERSION, read_schema


def open_read_only_database(state_dir: Path) -> tuple[sqlite3.Connection, Path]:
    """Open the existing ``state_dir/ledger.sqlite3`` for reading only (SQLite ``mode=ro``).

    For a user who may read the ledger but not write it (monitoring): nothing is created
    or changed, no folder, no file, no migration. Writes through the connection fail.

    Raises:
        LedgerError: there is no ledger yet, it is not a snapd ledger, its schema is not
            this snapd's, or SQLite cannot open it.
    """
    path = state_dir / LEDGER_FILE_NAME
    if not path.is_file():
        raise LedgerError(
            f"ledger {path} does not exist, and {state_dir} cannot be written to create it"
        )
    try:
        connection = _connect_read_only(path, immutable=False)
        try:
            read_schema(connection, path)
        except sqlite3.OperationalError:
            connection.close()
            # A WAL database needs its -shm file, which a reader cannot create in a folder
            # it may not write. Without a -wal file every change is in the main file (the
            # last writer checkpointed it), so reading it as immutable misses nothing.
            if path.with_name(path.name + "-wal").exists():
                raise
            connection = _connect_read_only(path, immutable=True)
    except sqlite3.Error as error:
        raise LedgerError(f"ledger {path} cannot be opened: {error}") from None
    try:
        version = read_schema(connection, path)
        if version != SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {path} has schema version {version}, this snapd reads "
                f"{SCHEMA_VERSION}; open it once as a user who can write it to upgrade it"
            )
    except LedgerError:
        connection.close()
        raise
    except sqlite3.Error as error:
        connection.close()
        raise LedgerError(f"ledger {path} cannot be read: {error}") from None
    return connection, path


def _connect_read_only(path: Path, *, immutable: bool) -> sqlite3.Connection:
    """A read-only connection (``immutable``: no locks, no -shm file, no change seen)."""
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?{query}",
        uri=True,
        timeout=BUSY_TIMEOUT.total_seconds(),
        isolation_level=None,
        check_same_thread=False,
    )
