"""What each client operation returns, against the fake API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault
from snapd.hostinger import Action, HostingerClient, NotFoundError, Snapshot
from tests.conftest import FakeSettings
from tests.support.client import (
    CLIENT_FAKE,
    LocalServer,
    Scripted,
    all_logs_captured,
    assert_no_token,
    expect_error,
    make_client,
)

START = datetime(2025, 2, 27, 11, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_token_in_logs() -> Iterator[None]:
    with all_logs_captured() as captured:
        yield
    assert_no_token(repr(captured))


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
def fake_settings() -> FakeSettings:
    return replace(CLIENT_FAKE, action_seconds=10.0, manual_clock=True)


@pytest.fixture
def client(fake: FakeHostinger) -> Iterator[HostingerClient]:
    with make_client(fake.base_url) as running:
        yield running


def advance(fake: FakeHostinger, seconds: float) -> None:
    clock = fake.clock
    assert isinstance(clock, ManualClock)
    clock.advance(seconds)


def test_list_virtual_machines_returns_every_vm(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    machines = client.list_virtual_machines()

    assert [machine.id for machine in machines] == fake.vm_ids
    assert all(machine.state == "running" and not machine.is_locked for machine in machines)
    assert all(machine.hostname for machine in machines)


def test_get_virtual_machine_reports_the_actions_lock(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.set_actions_lock(fake.vm_ids[1], "locked")

    machine = client.get_virtual_machine(fake.vm_ids[1])

    assert machine.id == fake.vm_ids[1]
    assert machine.actions_lock == "locked" and machine.is_locked


def test_get_virtual_machine_for_an_unknown_id_is_not_found(client: HostingerClient) -> None:
    expect_error(NotFoundError, lambda: client.get_virtual_machine(42))


@pytest.mark.parametrize("answer", ["404", "null", "empty", "null_fields"])
def test_get_snapshot_returns_none_for_every_way_of_saying_no_snapshot(
    fake: FakeHostinger, client: HostingerClient, answer: str
) -> None:
    fake.no_snapshot_as = answer
    assert client.get_snapshot(fake.vm_ids[0]) is None

    fake.no_snapshot_as = "404"
    fake.inject(Fault(kind="no_snapshot_as", endpoint="get_snapshot", no_snapshot_as=answer))
    assert client.get_snapshot(fake.vm_ids[0]) is None
    assert fake.count("GET", "/snapshot") == 2


def test_get_snapshot_returns_the_snapshot_with_aware_times(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    created = START - timedelta(days=2)
    fake.set_snapshot(fake.vm_ids[0], created_at=created)

    snapshot = client.get_snapshot(fake.vm_ids[0])

    assert isinstance(snapshot, Snapshot)
    assert snapshot.created_at == created
    assert snapshot.expires_at == created + timedelta(days=20)
    assert snapshot.restore_time is None or snapshot.restore_time >= 0


def test_create_snapshot_returns_the_action_and_get_action_follows_it_to_success(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    machine_id = fake.vm_ids[0]

    action = client.create_snapshot(machine_id)
    assert isinstance(action, Action)
    assert not action.is_final
    assert action.created_at == START

    advance(fake, 11)
    finished = client.get_action(machine_id, action.id)
    assert finished.id == action.id
    assert finished.is_final and finished.succeeded

    snapshot = client.get_snapshot(machine_id)
    assert snapshot is not None and snapshot.created_at is not None
    assert fake.count("POST", "/snapshot") == 1


def test_an_undocumented_action_state_is_read_and_is_not_final(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    machine_id = fake.vm_ids[0]
    fake.inject(
        Fault(
            kind="action_states",
            endpoint="create_snapshot",
            states=["created", "started", "success"],
        )
    )
    action = client.create_snapshot(machine_id)

    advance(fake, 5)
    running = client.get_action(machine_id, action.id)
    assert running.state == "started"
    assert not running.is_final and not running.succeeded

    advance(fake, 5)
    assert client.get_action(machine_id, action.id).succeeded


def test_an_action_that_ends_in_error_is_final_but_not_succeeded(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    machine_id = fake.vm_ids[0]
    fake.inject(Fault(kind="action_error", endpoint="create_snapshot"))
    action = client.create_snapshot(machine_id)

    advance(fake, 11)
    finished = client.get_action(machine_id, action.id)

    assert finished.state == "error"
    assert finished.is_final and not finished.succeeded


def test_delete_and_restore_return_their_actions(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    machine_id = fake.vm_ids[0]
    fake.set_snapshot(machine_id, created_at=START - timedelta(hours=1))

    restore = client.restore_snapshot(machine_id)
    advance(fake, 11)
    delete = client.delete_snapshot(machine_id)
    advance(fake, 11)

    assert restore.id != delete.id
    assert client.get_action(machine_id, delete.id).succeeded
    assert client.get_snapshot(machine_id) is None
    assert fake.count("DELETE", "/snapshot") == 1
    assert fake.count("POST", "/snapshot/restore") == 1


def test_list_actions_returns_one_page_and_says_whether_more_follow(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    machine_id = fake.vm_ids[0]
    created = []
    for _ in range(17):
        created.append(client.create_snapshot(machine_id).id)
        advance(fake, 11)

    first = client.list_actions(machine_id)
    second = client.list_actions(machine_id, page=2)

    assert (first.current_page, first.per_page, first.total) == (1, 15, 17)
    assert len(first.actions) == 15 and first.has_more
    assert len(second.actions) == 2 and not second.has_more
    assert {action.id for action in first.actions + second.actions} == set(created)
    assert [request.query for request in fake.requests_matching("GET", "/actions")] == [
        {"page": "1"},
        {"page": "2"},
    ]


def test_list_backups_follows_every_page(fake: FakeHostinger, client: HostingerClient) -> None:
    machine_id = fake.vm_ids[0]
    before = len(client.list_backups(machine_id))
    for week in range(20):
        fake.add_backup(machine_id, created_at=START - timedelta(weeks=week + 3))
    fake.clear_requests()

    backups = client.list_backups(machine_id)

    assert len(backups) == before + 20
    assert len({backup.id for backup in backups}) == len(backups)
    assert all(backup.created_at is not None for backup in backups)
    pages = [request.query.get("page") for request in fake.requests_matching("GET", "/backups")]
    assert pages == ["1", "2"]


@pytest.mark.parametrize("created_at", ["soon", None, 0])
def test_get_snapshot_tells_a_snapshot_of_unknown_age_from_no_snapshot(
    created_at: object,
) -> None:
    body = {"id": 325, "restore_time": 1800, "created_at": created_at, "expires_at": None}
    with LocalServer(Scripted(body=body)) as server, make_client(server.base_url) as client:
        snapshot = client.get_snapshot(1268054)

    assert snapshot is not None
    assert snapshot.id == 325
    assert snapshot.created_at is None
    assert snapshot.created_at_unreadable
