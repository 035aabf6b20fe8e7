"""SQL of the PostgreSQL ledger where it differs from SQLite's: the writes.

All but :func:`replace_pending` (written in the fencing transaction, on psycopg's own
connection) take :func:`shared`'s connection and ``?`` placeholders like the shared SQL.

Reads are shared with the SQLite ledger (:mod:`snapd.ledger.attempts`,
:mod:`~snapd.ledger.holds`, :mod:`~snapd.ledger.pending`) through :class:`QmarkConnection`,
which lets their ``?`` placeholders reach psycopg as ``%s``.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, cast

from snapd.ledger import attempts, pending
from snapd.ledger.records import (
    AttemptRecord,
    Hold,
    PendingAction,
    check_choice,
    encode_optional_time,
    encode_time,
)
from snapd.ledger.vocabulary import KINDS

if TYPE_CHECKING:
    import psycopg


# The lease under which an existing pending row was written, while it is alive.
_LIVE_LEASE = (
    "SELECT 1 FROM virtual_machine_locks AS held "
    "WHERE held.virtual_machine_id = existing.virtual_machine_id "
    "AND held.token = existing.lock_token AND held.expires_at > clock_timestamp()"
)


class QmarkConnection:
    """A psycopg connection that takes SQL with sqlite3's ``?`` placeholders.

    Only for the shared SQL of the ledger's modules, which has no other ``?`` or ``%``.
    """

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Any = ()) -> psycopg.Cursor[Any]:
        return self._connection.execute(sql.replace("?", "%s"), parameters)


def shared(connection: psycopg.Connection[Any]) -> sqlite3.Connection:
    """``connection`` as the shared read functions expect it (the same DB-API surface)."""
    return cast("sqlite3.Connection", QmarkConnection(connection))


def insert_attempt(connection: sqlite3.Connection, record: AttemptRecord) -> int:
    """Store ``record`` (its ``id`` ignored) through :func:`shared`'s connection; the new
    row id. ``ValueError`` as SQLite's."""
    values = attempts.row_values(record)
    placeholders = ", ".join("?" * len(values))
    row = connection.execute(
        f"INSERT INTO attempts ({attempts.COLUMNS}) VALUES ({placeholders}) RETURNING id", values
    ).fetchone()
    assert row is not None
    return int(row[0])


def replace_hold(connection: sqlite3.Connection, hold: Hold) -> None:
    """Store ``hold`` in place of any hold of the same VM (through :func:`shared`)."""
    connection.execute(
        "INSERT INTO holds (virtual_machine_id, until, reason, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (virtual_machine_id) DO UPDATE SET "
        "until = excluded.until, reason = excluded.reason, created_at = excluded.created_at",
        (
            hold.virtual_machine_id,
            encode_time(hold.until),
            hold.reason,
            encode_time(hold.created_at),
        ),
    )


def replace_pending(
    connection: psycopg.Connection[Any], item: PendingAction, written_by: str, token: int | None
) -> bool:
    """Store ``item`` (written under lock ``token``) in place of the VM's pending action,
    unless that one was written under another token whose lease is still alive: then
    nothing is written and the result is False."""
    check_choice("kind", item.kind, KINDS)
    columns = [*pending.COLUMNS.split(", "), "written_by", "lock_token"]
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns[1:])
    cursor = connection.execute(
        f"INSERT INTO pending_actions AS existing ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT (virtual_machine_id) DO UPDATE SET {updates} "
        f"WHERE existing.lock_token IS NOT DISTINCT FROM excluded.lock_token "
        f"OR NOT EXISTS ({_LIVE_LEASE})",
        (
            item.virtual_machine_id,
            item.action_id,
            item.kind,
            encode_optional_time(item.slot),
            encode_time(item.started_at),
            item.old_snapshot_id,
            encode_optional_time(item.old_snapshot_created_at),
            encode_optional_time(item.server_started_at),
            written_by,
            token,
        ),
    )
    return cursor.rowcount == 1


def delete_pending(
    connection: sqlite3.Connection, virtual_machine_id: int, action_id: int | None
) -> None:
    """Remove the VM's pending action only if it is ``action_id`` (None: an intent),
    through :func:`shared`'s connection."""
    connection.execute(
        "DELETE FROM pending_actions WHERE virtual_machine_id = ? "
        "AND action_id IS NOT DISTINCT FROM ?",
        (virtual_machine_id, action_id),
    )
