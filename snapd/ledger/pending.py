"""SQL for the ``pending_actions`` table: actions posted and not yet seen to end, one per VM."""

from __future__ import annotations

import sqlite3
from typing import Any

from snapd.ledger.records import (
    PendingAction,
    check_choice,
    decode_optional_time,
    decode_time,
    encode_optional_time,
    encode_time,
)
from snapd.ledger.vocabulary import KINDS

COLUMNS = (
    "virtual_machine_id, action_id, kind, slot, started_at, old_snapshot_id, "
    "old_snapshot_created_at, server_started_at"
)


def replace(connection: sqlite3.Connection, pending: PendingAction) -> None:
    """Store ``pending`` in place of any pending action of the same VM.

    Raises:
        ValueError: unknown ``kind`` or a naive datetime.
    """
    check_choice("kind", pending.kind, KINDS)
    connection.execute(
        f"INSERT OR REPLACE INTO pending_actions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            pending.virtual_machine_id,
            pending.action_id,
            pending.kind,
            encode_optional_time(pending.slot),
            encode_time(pending.started_at),
            pending.old_snapshot_id,
            encode_optional_time(pending.old_snapshot_created_at),
            encode_optional_time(pending.server_started_at),
        ),
    )


def delete(connection: sqlite3.Connection, virtual_machine_id: int, action_id: int | None) -> None:
    """Remove the VM's pending action only if it is ``action_id`` (None: a send's intent)."""
    connection.execute(
        "DELETE FROM pending_actions WHERE virtual_machine_id = ? AND action_id IS ?",
        (virtual_machine_id, action_id),
    )


def select(
    connection: sqlite3.Connection, virtual_machine_id: int | None = None
) -> list[PendingAction]:
    """Pending actions of one VM or of all, oldest first."""
    where = ""
    parameters: tuple[Any, ...] = ()
    if virtual_machine_id is not None:
        where, parameters = "WHERE virtual_machine_id = ?", (virtual_machine_id,)
    rows = connection.execute(
        f"SELECT {COLUMNS} FROM pending_actions {where} ORDER BY started_at, virtual_machine_id",
        parameters,
    ).fetchall()
    return [
        PendingAction(
            virtual_machine_id=int(row[0]),
            action_id=None if row[1] is None else int(row[1]),
            kind=row[2],
            slot=decode_optional_time(row[3]),
            started_at=decode_time(row[4]),
            old_snapshot_id=row[5],
            old_snapshot_created_at=decode_optional_time(row[6]),
            server_started_at=decode_optional_time(row[7]),
        )
        for row in rows
    ]
