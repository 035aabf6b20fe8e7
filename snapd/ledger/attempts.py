"""SQL for the ``attempts`` table: the history of what snapd did to each VM."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from snapd.ledger.records import (
    AttemptRecord,
    check_choice,
    decode_optional_time,
    decode_time,
    encode_optional_time,
    encode_time,
)
from snapd.ledger.vocabulary import KINDS, WRITABLE_RESULTS, read_kind, read_result

# The API's timestamps have second resolution and are not always rounded the same way,
# so a snapshot is recognised by its creation time within this margin.
CREATED_AT_TOLERANCE = timedelta(seconds=2)

COLUMNS = (
    "virtual_machine_id, kind, slot, started_at, finished_at, outcome, reason, action_id, "
    "old_snapshot_id, old_snapshot_created_at, new_snapshot_id, new_snapshot_created_at, "
    "correlation_id, dry_run, account"
)
# Only a real snapshot that succeeded counts as a restore point snapd made.
SUCCESSFUL_SNAPSHOT = "kind = 'snapshot' AND outcome = 'success' AND dry_run = 0"
NEWEST_FIRST = "ORDER BY finished_at DESC, id DESC"


def insert(connection: sqlite3.Connection, record: AttemptRecord) -> int:
    """Store ``record`` (its ``id`` ignored) and return the new row id.

    Raises:
        ValueError: unknown ``kind`` or ``outcome``, or a naive datetime.
    """
    values = row_values(record)
    placeholders = ", ".join("?" * len(values))
    cursor = connection.execute(f"INSERT INTO attempts ({COLUMNS}) VALUES ({placeholders})", values)
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def row_values(record: AttemptRecord) -> tuple[Any, ...]:
    """``record`` as the values of :data:`COLUMNS`, in order; checked like :func:`insert`."""
    check_choice("kind", record.kind, KINDS)
    check_choice("outcome", record.outcome, WRITABLE_RESULTS)
    return (
        record.virtual_machine_id,
        record.kind,
        encode_optional_time(record.slot),
        encode_time(record.started_at),
        encode_time(record.finished_at),
        record.outcome,
        record.reason,
        record.action_id,
        record.old_snapshot_id,
        encode_optional_time(record.old_snapshot_created_at),
        record.new_snapshot_id,
        encode_optional_time(record.new_snapshot_created_at),
        record.correlation_id,
        int(record.dry_run),
        record.account,
    )


def select(
    connection: sqlite3.Connection, clause: str, parameters: tuple[Any, ...]
) -> list[AttemptRecord]:
    """The attempts chosen by ``clause`` (``WHERE``/``ORDER BY``/``LIMIT`` text)."""
    rows = connection.execute(f"SELECT id, {COLUMNS} FROM attempts {clause}", parameters)
    return [from_row(row) for row in rows.fetchall()]


def slot_succeeded(connection: sqlite3.Connection, virtual_machine_id: int, slot: datetime) -> bool:
    """True when a real snapshot attempt of the VM succeeded for ``slot``."""
    row = connection.execute(
        f"SELECT 1 FROM attempts WHERE virtual_machine_id = ? AND slot = ? "
        f"AND {SUCCESSFUL_SNAPSHOT} LIMIT 1",
        (virtual_machine_id, encode_time(slot)),
    ).fetchone()
    return row is not None


def last_successes(connection: sqlite3.Connection) -> dict[int, datetime]:
    """For every VM with one, when its latest successful snapshot attempt finished."""
    rows = connection.execute(
        "SELECT virtual_machine_id, MAX(finished_at) FROM attempts "
        f"WHERE {SUCCESSFUL_SNAPSHOT} GROUP BY virtual_machine_id"
    ).fetchall()
    return {int(row[0]): decode_time(row[1]) for row in rows}


def made_by_snapd(
    connection: sqlite3.Connection,
    virtual_machine_id: int,
    snapshot_id: int | None,
    created_at: datetime | None,
) -> bool:
    """True when a successful snapshot attempt of the VM left this snapshot behind.

    The snapshot is recognised by its id; an attempt recorded without an id, or a
    question without one, falls back to ``created_at`` within 2 seconds. With neither an
    id nor a time nothing can be recognised, and the answer is False.
    """
    conditions: list[str] = []
    parameters: list[Any] = [virtual_machine_id]
    if snapshot_id is not None:
        conditions.append("new_snapshot_id = ?")
        parameters.append(snapshot_id)
    if created_at is not None:
        by_time = "new_snapshot_created_at BETWEEN ? AND ?"
        if snapshot_id is not None:
            by_time = f"(new_snapshot_id IS NULL AND {by_time})"
        conditions.append(by_time)
        # Fixed-width UTC text sorts like time, so BETWEEN on text is a time range.
        parameters += [
            encode_time(created_at - CREATED_AT_TOLERANCE),
            encode_time(created_at + CREATED_AT_TOLERANCE),
        ]
    if not conditions:
        return False
    row = connection.execute(
        f"SELECT 1 FROM attempts WHERE virtual_machine_id = ? AND {SUCCESSFUL_SNAPSHOT} "
        f"AND ({' OR '.join(conditions)}) LIMIT 1",
        tuple(parameters),
    ).fetchone()
    return row is not None


def from_row(row: tuple[Any, ...]) -> AttemptRecord:
    """One ``attempts`` row (``id`` then :data:`COLUMNS`); an unknown kind or outcome is
    read as ``UNKNOWN`` rather than failing the whole history."""
    return AttemptRecord(
        id=int(row[0]),
        virtual_machine_id=int(row[1]),
        kind=read_kind(row[2]),
        slot=decode_optional_time(row[3]),
        started_at=decode_time(row[4]),
        finished_at=decode_time(row[5]),
        outcome=read_result(row[6]),
        reason=row[7],
        action_id=row[8],
        old_snapshot_id=row[9],
        old_snapshot_created_at=decode_optional_time(row[10]),
        new_snapshot_id=row[11],
        new_snapshot_created_at=decode_optional_time(row[12]),
        correlation_id=row[13],
        dry_run=bool(row[14]),
        account=row[15],
    )
