"""The ledger: what snapd remembers between runs and shares between processes."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import snapd
from snapd.cli import main
from snapd.ledger import (
    LEDGER_FILE_NAME,
    SCHEMA_VERSION,
    AttemptRecord,
    Hold,
    Ledger,
    LedgerError,
    OperationKind,
    PendingAction,
    Result,
    SqliteLedger,
)
from snapd.ledger import schema as ledger_schema
from tests.conftest import PolicyWriter

NOW = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
SLOT = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
MACHINE = 1268054
OTHER_MACHINE = 1268055


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """The contract suite runs against each backend: SQLite in ``tmp_path`` and a fresh
    PostgreSQL database (see ``tests/support/postgres.py``)."""
    opened: Ledger
    if request.param == "sqlite":
        opened = SqliteLedger.open(tmp_path)
    else:
        dsn = request.getfixturevalue("postgres_dsn")  # skips (outside CI) without PostgreSQL
        from snapd.ledger.advisory import ConnectionSettings
        from snapd.ledger.postgres import PostgresLedger

        opened = PostgresLedger.open(ConnectionSettings(dsn))
    with opened:
        yield opened


def attempt(
    *,
    virtual_machine_id: int = MACHINE,
    kind: str = "snapshot",
    slot: datetime | None = SLOT,
    finished_at: datetime = NOW + timedelta(minutes=5),
    duration: timedelta = timedelta(minutes=5),
    outcome: str = "success",
    reason: str = "created",
    new_snapshot_id: int | None = None,
    new_snapshot_created_at: datetime | None = None,
    dry_run: bool = False,
) -> AttemptRecord:
    return AttemptRecord(
        virtual_machine_id=virtual_machine_id,
        kind=kind,
        slot=slot,
        started_at=finished_at - duration,
        finished_at=finished_at,
        outcome=outcome,
        reason=reason,
        new_snapshot_id=new_snapshot_id,
        new_snapshot_created_at=new_snapshot_created_at,
        dry_run=dry_run,
    )


def single_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message
    return message


# Attempts


def test_an_attempt_comes_back_as_recorded_with_aware_utc_datetimes(ledger: Ledger) -> None:
    vilnius = timezone(timedelta(hours=2))
    record = AttemptRecord(
        virtual_machine_id=MACHINE,
        kind="snapshot",
        slot=datetime(2025, 1, 1, 5, 0, tzinfo=vilnius),
        started_at=datetime(2025, 1, 1, 3, 0, 1, 250000, tzinfo=UTC),
        finished_at=datetime(2025, 1, 1, 3, 7, 30, tzinfo=UTC),
        outcome="success",
        reason="created",
        action_id=8123,
        old_snapshot_id=77,
        old_snapshot_created_at=datetime(2024, 12, 31, 3, 0, tzinfo=UTC),
        new_snapshot_id=78,
        new_snapshot_created_at=datetime(2025, 1, 1, 3, 0, 5, tzinfo=UTC),
        correlation_id="c0ffee",
    )

    row_id = ledger.record_attempt(record)
    [stored] = ledger.history(MACHINE)

    assert stored.id == row_id
    assert stored == AttemptRecord(**{**record.__dict__, "id": row_id})
    assert stored.slot is not None
    assert stored.slot.tzinfo is UTC
    assert stored.slot.hour == 3
    assert stored.started_at.microsecond == 250000
    for moment in (stored.started_at, stored.finished_at, stored.new_snapshot_created_at):
        assert moment is not None
        assert moment.utcoffset() == timedelta(0)


def test_an_attempt_without_a_slot_or_snapshots_round_trips(ledger: Ledger) -> None:
    record = attempt(slot=None, outcome="dry_run", reason="dry_run", dry_run=True)

    row_id = ledger.record_attempt(record)

    assert ledger.history() == [AttemptRecord(**{**record.__dict__, "id": row_id})]


def test_an_attempt_with_an_unknown_kind_outcome_or_a_naive_time_is_refused(
    ledger: Ledger,
) -> None:
    with pytest.raises(ValueError, match="kind"):
        ledger.record_attempt(attempt(kind="reboot"))
    with pytest.raises(ValueError, match="outcome"):
        ledger.record_attempt(attempt(outcome="great"))
    with pytest.raises(ValueError, match="naive"):
        ledger.record_attempt(attempt(finished_at=datetime(2025, 1, 1, 3, 0)))  # noqa: DTZ001 - naive on purpose
    assert ledger.history() == []


def test_an_attempt_read_back_carries_its_kind_and_outcome_as_the_ledgers_vocabulary(
    ledger: Ledger,
) -> None:
    ledger.record_attempt(attempt(kind="restore", outcome="timeout"))

    [stored] = ledger.history(MACHINE)

    assert stored.kind is OperationKind.RESTORE
    assert stored.outcome is Result.TIMEOUT


def test_a_stored_kind_or_outcome_this_snapd_does_not_know_is_read_as_unknown(
    tmp_path: Path,
) -> None:
    with SqliteLedger.open(tmp_path) as ledger:
        ledger.record_attempt(attempt(reason="first"))
        ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=1), reason="second"))
    connection = sqlite3.connect(tmp_path / LEDGER_FILE_NAME)
    with connection:
        connection.execute("UPDATE attempts SET kind = 'reboot' WHERE reason = 'first'")
        connection.execute("UPDATE attempts SET outcome = 'great' WHERE reason = 'second'")
    connection.close()

    with SqliteLedger.open(tmp_path) as ledger:
        second, first = ledger.history(MACHINE)

    assert (first.kind, first.outcome) == (OperationKind.UNKNOWN, Result.SUCCESS)
    assert (second.kind, second.outcome) == (OperationKind.SNAPSHOT, Result.UNKNOWN)


def test_the_unknown_kind_and_outcome_are_never_written(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="kind"):
        ledger.record_attempt(attempt(kind="unknown"))
    with pytest.raises(ValueError, match="outcome"):
        ledger.record_attempt(attempt(outcome="unknown"))
    assert ledger.history() == []


def test_history_is_newest_first_by_finish_time_then_by_recording_order(ledger: Ledger) -> None:
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=2), reason="second"))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=1), reason="first"))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=2), reason="third"))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(days=1), reason="fourth"))

    assert [record.reason for record in ledger.history()] == [
        "fourth",
        "third",
        "second",
        "first",
    ]


def test_history_honours_the_limit_and_the_virtual_machine_filter(ledger: Ledger) -> None:
    for hour in range(5):
        ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=hour)))
        ledger.record_attempt(
            attempt(virtual_machine_id=OTHER_MACHINE, finished_at=NOW + timedelta(hours=hour))
        )

    assert len(ledger.history()) == 10
    assert len(ledger.history(limit=3)) == 3
    mine = ledger.history(MACHINE, limit=2)
    assert [record.virtual_machine_id for record in mine] == [MACHINE, MACHINE]
    assert [record.finished_at for record in mine] == [
        NOW + timedelta(hours=4),
        NOW + timedelta(hours=3),
    ]
    assert ledger.history(999) == []
    with pytest.raises(ValueError, match="limit"):
        ledger.history(limit=0)


def test_a_slot_counts_as_done_only_after_a_real_successful_snapshot(ledger: Ledger) -> None:
    ledger.record_attempt(attempt(outcome="failed", reason="action_error"))
    ledger.record_attempt(attempt(outcome="unverified", reason="snapshot_unchanged"))
    ledger.record_attempt(attempt(outcome="skipped", reason="snapshot_too_young"))
    ledger.record_attempt(attempt(outcome="success", dry_run=True))
    ledger.record_attempt(attempt(kind="restore", outcome="success"))
    ledger.record_attempt(attempt(virtual_machine_id=OTHER_MACHINE))
    assert not ledger.slot_succeeded(MACHINE, SLOT)

    ledger.record_attempt(attempt(slot=SLOT - timedelta(days=1)))
    assert not ledger.slot_succeeded(MACHINE, SLOT)

    ledger.record_attempt(attempt())
    assert ledger.slot_succeeded(MACHINE, SLOT)
    # The same instant written in another zone is the same slot.
    assert ledger.slot_succeeded(MACHINE, SLOT.astimezone(timezone(timedelta(hours=-5))))


def test_last_success_is_the_latest_real_successful_snapshot(ledger: Ledger) -> None:
    assert ledger.last_success(MACHINE) is None
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=1), reason="older"))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=2), reason="newer"))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=3), outcome="failed"))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=4), dry_run=True))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=5), kind="restore"))

    last = ledger.last_success(MACHINE)

    assert last is not None
    assert last.reason == "newer"
    assert ledger.last_success(OTHER_MACHINE) is None


def test_last_successes_maps_every_virtual_machine_to_its_latest_success(ledger: Ledger) -> None:
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=1)))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=2)))
    ledger.record_attempt(attempt(finished_at=NOW + timedelta(hours=9), outcome="failed"))
    ledger.record_attempt(
        attempt(virtual_machine_id=OTHER_MACHINE, finished_at=NOW + timedelta(hours=3))
    )
    ledger.record_attempt(attempt(virtual_machine_id=3, outcome="timeout"))

    assert ledger.last_successes() == {
        MACHINE: NOW + timedelta(hours=2),
        OTHER_MACHINE: NOW + timedelta(hours=3),
    }


def test_last_action_seconds_is_the_duration_of_the_latest_success(ledger: Ledger) -> None:
    assert ledger.last_action_seconds(MACHINE) is None
    ledger.record_attempt(attempt(finished_at=NOW, duration=timedelta(minutes=10)))
    ledger.record_attempt(
        attempt(finished_at=NOW + timedelta(days=1), duration=timedelta(seconds=95.5))
    )
    ledger.record_attempt(
        attempt(finished_at=NOW + timedelta(days=2), duration=timedelta(hours=1), outcome="timeout")
    )

    assert ledger.last_action_seconds(MACHINE) == 95.5


def test_a_snapshot_is_recognised_as_made_by_snapd_by_its_id_or_its_creation_time(
    ledger: Ledger,
) -> None:
    created = datetime(2025, 1, 1, 3, 0, 5, tzinfo=UTC)
    ledger.record_attempt(attempt(new_snapshot_id=78, new_snapshot_created_at=created))
    ledger.record_attempt(attempt(new_snapshot_id=90, outcome="failed"))
    ledger.record_attempt(attempt(new_snapshot_id=91, dry_run=True))

    assert ledger.made_by_snapd(MACHINE, 78, None)
    assert ledger.made_by_snapd(MACHINE, 78, created + timedelta(hours=5))
    assert ledger.made_by_snapd(MACHINE, None, created + timedelta(seconds=2))
    assert ledger.made_by_snapd(MACHINE, None, created - timedelta(seconds=1.5))
    assert not ledger.made_by_snapd(MACHINE, None, created + timedelta(seconds=3))
    # A different id at the same time is a different snapshot.
    assert not ledger.made_by_snapd(MACHINE, 79, created)
    assert not ledger.made_by_snapd(MACHINE, 90, None)
    assert not ledger.made_by_snapd(MACHINE, 91, None)
    assert not ledger.made_by_snapd(OTHER_MACHINE, 78, created)
    assert not ledger.made_by_snapd(MACHINE, None, None)


def test_an_attempt_recorded_without_a_snapshot_id_is_matched_by_creation_time(
    ledger: Ledger,
) -> None:
    created = datetime(2025, 1, 1, 3, 0, 5, tzinfo=UTC)
    ledger.record_attempt(attempt(new_snapshot_created_at=created))

    assert ledger.made_by_snapd(MACHINE, 78, created + timedelta(seconds=1))
    assert not ledger.made_by_snapd(MACHINE, 78, created + timedelta(minutes=1))


# Holds


def test_a_hold_round_trips_and_expires_by_the_given_time(ledger: Ledger) -> None:
    hold = Hold(MACHINE, until=NOW + timedelta(hours=2), reason="upgrade", created_at=NOW)
    ledger.set_hold(hold)

    assert ledger.active_hold(MACHINE, NOW) == hold
    assert ledger.active_hold(MACHINE, NOW + timedelta(hours=1, minutes=59)) == hold
    assert ledger.active_hold(MACHINE, NOW + timedelta(hours=2)) is None
    assert ledger.active_hold(OTHER_MACHINE, NOW) is None
    assert ledger.holds(NOW) == [hold]
    assert ledger.holds(NOW + timedelta(hours=3)) == []


def test_setting_a_hold_replaces_the_previous_one_of_the_same_machine(ledger: Ledger) -> None:
    ledger.set_hold(Hold(MACHINE, NOW + timedelta(hours=2), "upgrade", NOW))
    replacement = Hold(MACHINE, NOW + timedelta(days=1), "migration", NOW + timedelta(hours=1))
    other = Hold(OTHER_MACHINE, NOW + timedelta(hours=1), "disk", NOW)
    ledger.set_hold(replacement)
    ledger.set_hold(other)

    assert ledger.holds(NOW) == [replacement, other]


def test_releasing_a_hold_says_whether_there_was_one(ledger: Ledger) -> None:
    ledger.set_hold(Hold(MACHINE, NOW + timedelta(hours=2), "upgrade", NOW))

    assert ledger.release_hold(MACHINE) is True
    assert ledger.release_hold(MACHINE) is False
    assert ledger.active_hold(MACHINE, NOW) is None


# Pending actions


def test_a_pending_action_round_trips_and_is_removed_by_its_action_id(ledger: Ledger) -> None:
    pending = PendingAction(
        MACHINE,
        action_id=8123,
        kind="snapshot",
        slot=SLOT,
        started_at=NOW,
        old_snapshot_id=77,
        old_snapshot_created_at=NOW - timedelta(days=1),
    )
    ledger.add_pending(pending)

    assert ledger.pending() == [pending]
    assert ledger.pending_for(MACHINE) == pending
    assert ledger.pending_for(OTHER_MACHINE) is None

    ledger.remove_pending(MACHINE, 9999)
    assert ledger.pending_for(MACHINE) == pending
    ledger.remove_pending(MACHINE, 8123)
    assert ledger.pending() == []


def test_an_intent_without_an_action_id_is_removed_only_as_an_intent(ledger: Ledger) -> None:
    intent = PendingAction(MACHINE, None, "snapshot", SLOT, NOW, server_started_at=NOW)
    ledger.add_pending(intent)

    assert ledger.pending_for(MACHINE) == intent
    ledger.remove_pending(MACHINE, 8123)
    assert ledger.pending_for(MACHINE) == intent
    ledger.remove_pending(MACHINE, None)
    assert ledger.pending() == []


def test_an_outcome_that_settles_a_pending_row_removes_it_with_the_same_write(
    ledger: Ledger,
) -> None:
    pending = PendingAction(MACHINE, 8123, "snapshot", SLOT, NOW)
    ledger.add_pending(pending)

    ledger.record_attempt(dataclasses.replace(attempt(), action_id=8123), settles=pending)

    assert ledger.pending() == []
    assert [record.action_id for record in ledger.history()] == [8123]


def test_an_outcome_that_cannot_be_stored_leaves_the_pending_row_it_would_settle(
    ledger: Ledger,
) -> None:
    pending = PendingAction(MACHINE, 8123, "snapshot", SLOT, NOW)
    ledger.add_pending(pending)

    with pytest.raises(ValueError, match="outcome"):
        ledger.record_attempt(attempt(outcome="exploded"), settles=pending)

    assert ledger.pending() == [pending]
    assert ledger.history() == []


def test_a_virtual_machine_has_at_most_one_pending_action(ledger: Ledger) -> None:
    first = PendingAction(MACHINE, 1, "snapshot", SLOT, NOW)
    second = PendingAction(MACHINE, 2, "restore", None, NOW + timedelta(minutes=1))
    other = PendingAction(OTHER_MACHINE, 3, "delete", None, NOW - timedelta(minutes=1))
    ledger.add_pending(first)
    ledger.add_pending(second)
    ledger.add_pending(other)

    assert ledger.pending() == [other, second]
    # Removing the replaced action must not remove its successor.
    ledger.remove_pending(MACHINE, 1)
    assert ledger.pending_for(MACHINE) == second


def test_a_pending_action_of_an_unknown_kind_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="kind"):
        ledger.add_pending(PendingAction(MACHINE, 1, "reboot", None, NOW))


# Sharing


def test_two_ledgers_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    with SqliteLedger.open(tmp_path) as daemon, SqliteLedger.open(tmp_path) as command:
        command.set_hold(Hold(MACHINE, NOW + timedelta(hours=1), "upgrade", NOW))
        daemon.record_attempt(attempt())
        daemon.add_pending(PendingAction(OTHER_MACHINE, 5, "snapshot", SLOT, NOW))

        assert daemon.active_hold(MACHINE, NOW) is not None
        assert command.slot_succeeded(MACHINE, SLOT)
        assert command.pending_for(OTHER_MACHINE) is not None


def test_a_ledger_reopened_later_keeps_its_contents(tmp_path: Path) -> None:
    with SqliteLedger.open(tmp_path) as first:
        first.record_attempt(attempt())
    with SqliteLedger.open(tmp_path) as second:
        assert len(second.history()) == 1


def test_eight_threads_sharing_one_ledger_lose_no_record(ledger: Ledger) -> None:
    def write(thread_number: int) -> None:
        for index in range(50):
            ledger.record_attempt(
                attempt(virtual_machine_id=thread_number, finished_at=NOW + timedelta(index))
            )

    threads = [threading.Thread(target=write, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ledger.history(limit=1000)) == 400
    assert all(len(ledger.history(number, limit=1000)) == 50 for number in range(8))


def test_writers_on_separate_connections_wait_for_each_other_instead_of_failing(
    tmp_path: Path,
) -> None:
    ledgers = [SqliteLedger.open(tmp_path) for _ in range(4)]

    def write(ledger: Ledger, number: int) -> None:
        for index in range(50):
            ledger.record_attempt(attempt(virtual_machine_id=number, reason=f"r{index}"))

    threads = [
        threading.Thread(target=write, args=(ledger, number))
        for number, ledger in enumerate(ledgers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ledgers[0].history(limit=1000)) == 200
    for ledger in ledgers:
        ledger.close()


def test_another_process_writing_the_ledger_is_seen(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from datetime import datetime, timedelta, UTC\n"
        "from pathlib import Path\n"
        "from snapd.ledger import Hold, SqliteLedger\n"
        "now = datetime(2025, 1, 1, tzinfo=UTC)\n"
        "with SqliteLedger.open(Path(sys.argv[1])) as ledger:\n"
        "    ledger.set_hold(Hold(7, now + timedelta(hours=1), 'from afar', now))\n"
    )
    with SqliteLedger.open(tmp_path) as ledger:
        ledger.record_attempt(attempt())
        environment = {**os.environ, "PYTHONPATH": str(Path(snapd.__file__).parents[1])}
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            check=True,
            env=environment,
            timeout=60,
        )

        hold = ledger.active_hold(7, datetime(2025, 1, 1, tzinfo=UTC))
        assert hold is not None
        assert hold.reason == "from afar"


def test_a_closed_ledger_refuses_to_be_used(tmp_path: Path) -> None:
    ledger = SqliteLedger.open(tmp_path)
    ledger.close()
    ledger.close()

    with pytest.raises(LedgerError, match="closed"):
        ledger.history()


# Schema and file


def test_the_schema_version_is_stored_in_the_file(tmp_path: Path) -> None:
    SqliteLedger.open(tmp_path).close()

    with sqlite3.connect(tmp_path / LEDGER_FILE_NAME) as connection:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
        indexes = {
            row[0]
            for row in connection.execute("SELECT sql FROM sqlite_master WHERE type = 'index'")
        }
    connection.close()
    assert version == SCHEMA_VERSION
    assert journal == "wal"
    assert any("(virtual_machine_id, finished_at)" in (sql or "") for sql in indexes)
    assert any("(virtual_machine_id, slot)" in (sql or "") for sql in indexes)


def test_a_ledger_written_by_a_newer_snapd_is_refused(tmp_path: Path) -> None:
    SqliteLedger.open(tmp_path).close()
    connection = sqlite3.connect(tmp_path / LEDGER_FILE_NAME)
    connection.execute("PRAGMA user_version = 99")
    connection.commit()
    connection.close()

    with pytest.raises(LedgerError) as raised:
        SqliteLedger.open(tmp_path)

    message = single_line(raised.value)
    assert "is not a snapd ledger" in message
    assert "schema version 99 is newer than this snapd" in message


def test_a_database_of_another_program_is_refused(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / LEDGER_FILE_NAME)
    connection.execute("PRAGMA application_id = 1234")
    connection.commit()
    connection.close()

    with pytest.raises(LedgerError, match="is not a snapd ledger"):
        SqliteLedger.open(tmp_path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / LEDGER_FILE_NAME).write_bytes(b"these are not the tables you are looking for" * 50)

    with pytest.raises(LedgerError) as raised:
        SqliteLedger.open(tmp_path)

    assert "is not a snapd ledger" in single_line(raised.value)


def test_a_migration_that_fails_halfway_leaves_the_ledger_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SqliteLedger.open(tmp_path).close()
    broken_step = ("CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL")
    monkeypatch.setattr(ledger_schema, "MIGRATIONS", (*ledger_schema.MIGRATIONS, broken_step))
    monkeypatch.setattr(ledger_schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)

    with pytest.raises(LedgerError):
        SqliteLedger.open(tmp_path)

    connection = sqlite3.connect(tmp_path / LEDGER_FILE_NAME)
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert version == SCHEMA_VERSION
    assert "half_done" not in tables


def test_the_ledger_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        with SqliteLedger.open(tmp_path) as ledger:
            ledger.record_attempt(attempt())
            wal = tmp_path / f"{LEDGER_FILE_NAME}-wal"
            if wal.exists():
                assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / LEDGER_FILE_NAME).stat().st_mode) == 0o600


# Unusable state directories


def test_a_missing_state_directory_is_created_private(tmp_path: Path) -> None:
    state_dir = tmp_path / "missing"

    SqliteLedger.open(state_dir).close()

    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert (state_dir / LEDGER_FILE_NAME).is_file()


def test_a_state_directory_whose_parent_is_missing_is_reported(tmp_path: Path) -> None:
    state_dir = tmp_path / "gone" / "state"

    with pytest.raises(LedgerError) as raised:
        SqliteLedger.open(state_dir)

    assert single_line(raised.value) == (
        f"state directory {state_dir} does not exist, "
        f"and neither does its parent {tmp_path / 'gone'}"
    )


def test_a_state_directory_that_is_a_file_is_reported(tmp_path: Path) -> None:
    regular_file = tmp_path / "state"
    regular_file.write_text("")

    with pytest.raises(LedgerError) as raised:
        SqliteLedger.open(regular_file)
    assert single_line(raised.value) == f"state directory {regular_file} is not a directory"

    with pytest.raises(LedgerError, match="does not exist"):
        SqliteLedger.open(regular_file / "below")


def test_a_read_only_state_directory_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state_dir.chmod(0o500)
    if os.geteuid() == 0:
        # Permission bits do not stop root; deny the access check as a kernel would.
        real_access = os.access

        def deny_writes(path: object, mode: int, **options: object) -> bool:
            if Path(str(path)) == state_dir and mode & os.W_OK:
                return False
            return real_access(path, mode, **options)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "access", deny_writes)
    try:
        with pytest.raises(LedgerError) as raised:
            SqliteLedger.open(state_dir)
    finally:
        state_dir.chmod(0o700)

    assert single_line(raised.value) == f"state directory {state_dir} is not writable"
    assert not (state_dir / LEDGER_FILE_NAME).exists()


def test_a_ledger_path_that_sqlite_cannot_open_is_reported(tmp_path: Path) -> None:
    # Fails for root too: nothing can open a directory as a database.
    (tmp_path / LEDGER_FILE_NAME).mkdir()

    with pytest.raises(LedgerError) as raised:
        SqliteLedger.open(tmp_path)

    assert single_line(raised.value).startswith(
        f"ledger {tmp_path / LEDGER_FILE_NAME} cannot be opened"
    )


def test_a_version_one_ledger_is_upgraded_and_keeps_its_pending_actions(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    for statement in ledger_schema.MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute("PRAGMA user_version = 1")
    connection.execute(
        "INSERT INTO pending_actions VALUES (7, 99, 'snapshot', NULL, "
        "'2025-01-01T03:00:00.000000Z', NULL, NULL)"
    )
    connection.close()
    with SqliteLedger.open(tmp_path) as ledger:
        pending = ledger.pending_for(7)
        assert pending is not None and pending.action_id == 99
        started = datetime(2025, 1, 2, tzinfo=UTC)
        ledger.add_pending(PendingAction(8, None, "snapshot", None, started))
        intent = ledger.pending_for(8)
        assert intent is not None and intent.action_id is None
        ledger.remove_pending(8, 5)  # another action id: the intent stays
        assert ledger.pending_for(8) is not None
        ledger.remove_pending(8, None)
        assert ledger.pending_for(8) is None


def test_an_empty_ledger_file_is_refused_not_taken_for_a_new_one(tmp_path: Path) -> None:
    (tmp_path / LEDGER_FILE_NAME).touch()

    with pytest.raises(LedgerError) as raised:
        SqliteLedger.open(tmp_path)

    message = single_line(raised.value)
    assert "is empty (0 bytes): not a snapd ledger" in message
    assert "restore it from a backup, or move it away" in message
    assert (tmp_path / LEDGER_FILE_NAME).stat().st_size == 0  # left as found


def test_snapd_refuses_an_empty_ledger_with_one_line_and_exit_code_2(
    tmp_path: Path, write_config: PolicyWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / LEDGER_FILE_NAME).touch()
    policy = write_config(f'vms: [{{id: 1, schedule: "0 3 * * *"}}]\nstate_dir: {state_dir}\n')

    assert main(["history", "-c", str(policy)]) == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapd: error: ledger ")
    assert "is empty (0 bytes)" in lines[0]


def test_a_new_ledger_appears_whole_and_leaves_no_working_file_behind(tmp_path: Path) -> None:
    SqliteLedger.open(tmp_path).close()

    assert sorted(path.name for path in tmp_path.iterdir()) == [LEDGER_FILE_NAME]
    assert (tmp_path / LEDGER_FILE_NAME).stat().st_size > 0
