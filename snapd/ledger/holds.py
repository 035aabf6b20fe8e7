"""SQL for the ``holds`` table: operators' requests not to touch a VM, one row per VM."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from snapd.ledger.records import Hold, decode_time, encode_time


def replace(connection: sqlite3.Connection, hold: Hold) -> None:
    """Store ``hold`` in place of any hold of the same VM."""
    connection.execute(
        "INSERT OR REPLACE INTO holds (virtual_machine_id, until, reason, created_at) "
        "VALUES (?, ?, ?, ?)",
        (
            hold.virtual_machine_id,
            encode_time(hold.until),
            hold.reason,
            encode_time(hold.created_at),
        ),
    )


def delete(connection: sqlite3.Connection, virtual_machine_id: int) -> bool:
    """Remove the VM's hold, expired or not; True when there was one."""
    cursor = connection.execute(
        "DELETE FROM holds WHERE virtual_machine_id = ?", (virtual_machine_id,)
    )
    return cursor.rowcount > 0


def active(
    connection: sqlite3.Connection, now: datetime, virtual_machine_id: int | None = None
) -> list[Hold]:
    """Holds lasting beyond ``now``, of one VM or of all, by VM id."""
    clause = "until > ?"
    parameters: list[Any] = [encode_time(now)]
    if virtual_machine_id is not None:
        clause += " AND virtual_machine_id = ?"
        parameters.append(virtual_machine_id)
    rows = connection.execute(
        "SELECT virtual_machine_id, until, reason, created_at FROM holds "
        f"WHERE {clause} ORDER BY virtual_machine_id",
        parameters,
    ).fetchall()
    return [
        Hold(
            virtual_machine_id=int(row[0]),
            until=decode_time(row[1]),
            reason=row[2],
            created_at=decode_time(row[3]),
        )
        for row in rows
    ]
