"""A full disk under ``state_dir``: the slot it hits fails closed and says so.

Without a real full disk: the lock file's write raises ``ENOSPC`` as the kernel would, and
SQLite's ``max_page_count`` makes the ledger full (``SQLITE_FULL``) exactly as a full disk
does. What a user sees is checked: the outcome and its one log line naming the real error,
``snapd_state_errors_total``, the failure notification, and that nothing is sent twice.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from snapd.cli import main
from snapd.clock import ManualClock
from snapd.config import VirtualMachinePolicy, load_config
from snapd.config.notify import NotifySettings, PingTarget
from snapd.daemon.state_probe import PROBE_SECONDS, StateDirectoryProbe
from snapd.fakeapi import FakeHostinger
from snapd.ledger import LedgerError, NotLeaderError, SqliteLedger
from snapd.ledger import locks as locks_module
from snapd.notify.delivery import DeliveryWorker
from snapd.notify.notifier import Notifier
from snapd.pipeline.engine import Engine
from snapd.pipeline.outcome import FanOut, Result
from snapd.runtime.daemon import build_daemon
from tests.conftest import START, TOKEN, make_policy
from tests.faults.harness import Scene, scene
from tests.support.clock_driver import PollerClockDriver
from tests.support.notify import SECRET, Receiver, receiver

NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"


@pytest.fixture
def current(tmp_path: Path) -> Iterator[Scene]:
    clock = ManualClock(START)
    fake = FakeHostinger(token=TOKEN, vm_count=1, action_seconds=60.0, seed=7, clock=clock)
    with fake, scene(fake, clock, tmp_path) as built:
        yield built


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


def notified_policy(current: Scene, hook: Receiver) -> tuple[VirtualMachinePolicy, Notifier]:
    """The scene's VM with a ping, and its engine now also telling a notifier."""
    ping = PingTarget(f"{hook.url}/ping/{SECRET}/{{vm_id}}", timedelta(seconds=2))
    policy = make_policy(current.vm, notify=NotifySettings(ping=ping, webhooks=()))
    notifier = Notifier(
        {policy.id: policy}.get, DeliveryWorker(None, backoff=0.01), clock=current.clock
    )
    engine = current.engine
    current.engine = Engine(
        engine.client, current.ledger, engine.locks, current.clock,
        observer=FanOut(current.metrics, notifier), poll=engine.attempts.poll,
    )  # fmt: skip
    return policy, notifier


def state_errors(current: Scene, operation: str) -> float | None:
    return current.metrics.registry.get_sample_value(
        "snapd_state_errors_total", {"operation": operation}
    )


def no_space_for_the_lock_file(descriptor: int, purpose: str, now: datetime) -> None:
    raise OSError(errno.ENOSPC, NO_SPACE)


def test_a_full_disk_under_the_lock_file_fails_the_slot_closed_and_says_where_it_is_seen(
    current: Scene, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy, notifier = notified_policy(current, hook)
    monkeypatch.setattr(locks_module, "_describe_holder", no_space_for_the_lock_file)

    outcome = current.run(policy, START)
    notifier.close(5.0)

    assert (outcome.result, outcome.reason) == (Result.FAILED, "state_error")
    assert outcome.detail == f"the VM's lock file could not be written: {NO_SPACE}"
    assert current.posts() == 0
    errors = [line for line in current.logs if line["event"] == "state_error"]
    assert [(line["operation"], line["error"]) for line in errors] == [("lock", NO_SPACE)]
    assert current.tracebacks() == []
    assert state_errors(current, "lock") == 1
    assert current.counted(outcome) == 1
    assert hook.paths() == [f"/ping/{SECRET}/{current.vm}/fail"]
    assert NO_SPACE in hook.received[0].body

    monkeypatch.undo()  # space again: the next slot runs as ever
    current.clock.advance(timedelta(days=1).total_seconds())
    assert current.run(policy, START + timedelta(days=1)).result is Result.SUCCESS


def fill_the_ledger(current: Scene) -> None:
    """Cap the ledger at its current size and fill the attempts' room, as a full disk
    would: the next attempt row needs a page and SQLite answers "database or disk is full".
    The pending table's page keeps its room, so an intent still fits."""
    connection: sqlite3.Connection = current.ledger._connection  # the ledger's own session
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    connection.execute(f"PRAGMA max_page_count = {pages}")
    for size in (500, 50, 1):  # big rows first, then smaller ones into what is left
        for _ in range(1000):
            try:
                connection.execute(
                    "INSERT INTO attempts (virtual_machine_id, kind, started_at, finished_at, "
                    "outcome, reason) VALUES (?, 'snapshot', ?, ?, 'failed', ?)",
                    (current.vm + 1, START.isoformat(), START.isoformat(), "x" * size),
                )
            except sqlite3.OperationalError as error:
                assert "full" in str(error)
                break
        else:
            raise AssertionError("the ledger never filled up")


def test_a_full_ledger_names_the_real_error_keeps_the_action_pending_and_never_sends_twice(
    current: Scene, hook: Receiver
) -> None:
    policy, notifier = notified_policy(current, hook)
    fill_the_ledger(current)

    outcome = current.run(policy, START)
    notifier.close(5.0)

    # The create went out (the intent fit in the room left) and its outcome did not fit.
    assert (outcome.result, outcome.reason) == (Result.FAILED, "state_error")
    assert "database or disk is full" in outcome.detail
    assert "cannot rollback" not in repr(current.logs) + outcome.detail
    assert outcome.detail.startswith("the outcome (success: created) could not be recorded")
    errors = [line for line in current.logs if line["event"] == "state_error"]
    assert [line["operation"] for line in errors] == ["record"]
    assert "database or disk is full" in errors[0]["error"]
    assert current.tracebacks() == []
    assert state_errors(current, "record") == 1
    assert current.metrics.registry.get_sample_value("snapd_ledger_errors_total") == 1
    assert hook.paths() == [f"/ping/{SECRET}/{current.vm}/fail"]
    pending = current.ledger.pending_for(current.vm)
    assert pending is not None and pending.action_id == outcome.action_id

    # Room again: the next run follows the pending action to its end, never sends again.
    current.ledger._connection.execute("PRAGMA max_page_count = 1073741823")
    again = current.run(policy, START)
    assert (again.result, again.action_id) == (Result.SUCCESS, outcome.action_id)
    assert current.posts() == 1


def test_the_state_dir_probe_says_why_it_cannot_write_and_looks_again_only_after_a_while(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    full = [True]
    writes: list[Path] = []

    def write(directory: Path) -> None:
        writes.append(directory)
        if full[0]:
            raise OSError(errno.ENOSPC, NO_SPACE)

    probe = StateDirectoryProbe(tmp_path, clock, write=write)
    with structlog.testing.capture_logs() as logs:
        assert probe.problem() == f"state_dir {tmp_path} cannot be written: {NO_SPACE}"
        full[0] = False
        clock.advance(PROBE_SECONDS - 1)
        assert probe.problem() is not None  # the answer of the last look, not a new write
        assert len(writes) == 1
        clock.advance(1)
        assert probe.problem() is None
    assert [line["event"] for line in logs] == ["state_dir_unwritable", "state_dir_writable"]


def test_the_state_dir_probe_leaves_nothing_behind_in_a_writable_folder(tmp_path: Path) -> None:
    probe = StateDirectoryProbe(tmp_path, ManualClock(START))
    assert probe.problem() is None
    assert list(tmp_path.iterdir()) == []


def test_once_whose_intent_cannot_be_written_sends_nothing_and_says_why_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(self: SqliteLedger, pending: object) -> None:
        raise LedgerError(f"ledger {self.path}: database or disk is full")

    monkeypatch.setattr(SqliteLedger, "add_pending", full)
    monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=1.0, seed=5) as fake:
        policy = tmp_path / "config.yaml"
        policy.write_text(
            f"api: {{base_url: '{fake.base_url}', timeout: 5s}}\n"
            f'vms: [{{id: {fake.vm_ids[0]}, schedule: "0 3 * * *"}}]\n'
            f"state_dir: {tmp_path}\nlog: {{format: json}}\n"
        )

        code = main(["once", "-c", str(policy), str(fake.vm_ids[0])])

        assert fake.count("POST") == 0
    assert code == 1
    errors = capsys.readouterr().err.splitlines()
    assert [line for line in errors if line.startswith("snapd: error:")] == [
        f"snapd: error: ledger {tmp_path / 'ledger.sqlite3'}: database or disk is full"
    ]
    assert not [line for line in errors if "Traceback" in line]


def test_a_lost_lead_while_recording_is_not_taken_for_a_state_error(
    current: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_leader(*arguments: object) -> None:
        raise NotLeaderError("this replica no longer leads the fleet")

    monkeypatch.setattr(current.ledger, "record_attempt", not_leader)
    with pytest.raises(NotLeaderError):
        current.run(make_policy(current.vm), START)
    assert state_errors(current, "record") is None


def test_a_daemon_slot_whose_intent_cannot_be_written_sends_nothing_and_notifies_the_failure(
    tmp_path: Path, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: SqliteLedger, pending: object) -> None:
        raise LedgerError(f"ledger {self.path}: database or disk is full")

    monkeypatch.setattr(SqliteLedger, "add_pending", full)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=60.0, clock=clock) as fake:
        vm = fake.vm_ids[0]
        policy = tmp_path / "config.yaml"
        policy.write_text(
            f"api: {{base_url: '{fake.base_url}', timeout: 5s}}\n"
            # catch_up: the VM has never had a snapshot, so its last slot runs at start.
            f'vms: [{{id: {vm}, schedule: "0 3 * * *", catch_up: 2d,\n'
            f"  notify: {{ping: {{url: '{hook.url}/ping/{SECRET}/{{vm_id}}'}}}}}}]\n"
            f"metrics: {{listen: '127.0.0.1:0'}}\nstate_dir: {tmp_path}\nstop_timeout: 2s\n"
        )
        daemon = build_daemon(policy, load_config(policy), token=TOKEN, clock=clock)
        thread = threading.Thread(target=daemon.run)
        # The driver ends the start-up look's spacing, waited on the manual clock.
        with structlog.testing.capture_logs() as logs, PollerClockDriver(clock):
            thread.start()
            try:
                received = hook.wait_for(2)
            finally:
                daemon.request_stop()
                thread.join(timeout=20)

    assert [item.path for item in received] == [
        f"/ping/{SECRET}/{vm}/start",
        f"/ping/{SECRET}/{vm}/fail",
    ]
    assert "database or disk is full" in received[1].body
    assert fake.count("POST") == 0
    assert [line["event"] for line in logs if line["event"] == "ledger_error"] == ["ledger_error"]
    assert not [line for line in logs if "exc_info" in line]
