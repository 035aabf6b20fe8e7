"""How the fake Hostinger API behaves: auth, listing, snapshots, actions, locks, backups,
rate limit, request log and determinism. Faults are in ``test_fakeapi_faults.py``."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, RecordedRequest
from tests.support.fakeapi import ACTION_SECONDS, PREFIX, START, TOKEN, bearer_session, call
from tests.support.fakeapi import action_seconds as action_seconds
from tests.support.fakeapi import clock_start as clock_start
from tests.support.fakeapi import fake_settings as fake_settings
from tests.support.fakeapi import machine_id as machine_id

# The calls that start an action, which an actions lock refuses.
LOCKED_OUT_CALLS = [("POST", "/snapshot"), ("DELETE", "/snapshot"), ("POST", "/snapshot/restore")]


class Api:
    """A minimal authenticated client for the fake."""

    def __init__(self, fake: FakeHostinger, token: str = TOKEN) -> None:
        self.fake = fake
        self.session = bearer_session(token)

    def call(self, method: str, path: str = "") -> requests.Response:
        return call(self.fake, self.session, method, path)

    def json(self, method: str, path: str = "") -> Any:
        return self.call(method, path).json()


@pytest.fixture
def api(fake: FakeHostinger) -> Iterator[Api]:
    client = Api(fake)
    yield client
    client.session.close()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {TOKEN}", "Bearer", TOKEN],
)
def test_requests_without_the_right_bearer_token_are_answered_401_unauthenticated(
    fake: FakeHostinger, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = requests.get(fake.base_url + PREFIX, headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["message"] == "Unauthenticated"
    assert fake.requests[-1].authorized is False


def test_the_bearer_scheme_is_accepted_in_any_case(fake: FakeHostinger) -> None:
    headers = {"Authorization": f"bearer {TOKEN}"}
    assert requests.get(fake.base_url + PREFIX, headers=headers, timeout=5).status_code == 200


def test_the_virtual_machine_list_is_a_bare_array_of_running_unlocked_machines(
    fake: FakeHostinger, api: Api
) -> None:
    machines = api.json("GET")
    assert isinstance(machines, list)
    assert [machine["id"] for machine in machines] == fake.vm_ids == [1268054, 1268055, 1268056]
    assert {(machine["state"], machine["actions_lock"]) for machine in machines} == {
        ("running", "unlocked")
    }
    assert machines[0]["hostname"] == "srv1268054.hstgr.cloud"
    assert machines[0]["created_at"].endswith("Z")


def test_vm_count_and_first_vm_id_choose_the_fleet(clock: ManualClock) -> None:
    assert FakeHostinger(vm_count=2, first_vm_id=10, clock=clock).vm_ids == [10, 11]


def test_one_virtual_machine_is_answered_as_the_list_shows_it(api: Api, machine_id: int) -> None:
    assert api.json("GET", f"/{machine_id}") == api.json("GET")[0]


def test_an_unknown_virtual_machine_is_answered_404_virtual_machine_not_found(api: Api) -> None:
    for method, path in [("GET", "/42"), ("GET", "/42/snapshot"), ("POST", "/42/snapshot")]:
        answer = api.call(method, path)
        assert answer.status_code == 404
        assert answer.json()["message"] == "Virtual machine not found"


def test_an_unknown_path_or_a_non_integer_id_is_404_and_a_wrong_method_is_405(
    api: Api, machine_id: int
) -> None:
    assert api.call("GET", "/abc").status_code == 404
    assert api.call("GET", f"/{machine_id}/metrics").status_code == 404
    wrong_method = api.call("PATCH", f"/{machine_id}/snapshot")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET, POST, DELETE"


def test_a_virtual_machine_starts_without_a_snapshot_answered_as_404(
    fake: FakeHostinger, api: Api, machine_id: int
) -> None:
    answer = api.call("GET", f"/{machine_id}/snapshot")
    assert answer.status_code == 404
    assert answer.json()["message"] == "Snapshot not found"
    assert fake.snapshot_of(machine_id) is None


def test_create_moves_from_created_to_sent_to_success_as_the_clock_advances(
    api: Api, clock: ManualClock, machine_id: int
) -> None:
    action = api.json("POST", f"/{machine_id}/snapshot")
    assert (action["name"], action["state"]) == ("create_snapshot", "created")
    assert action["created_at"] == action["updated_at"] == "2025-03-01T12:00:00Z"
    path = f"/{machine_id}/actions/{action['id']}"
    clock.advance(ACTION_SECONDS * 0.1)
    assert api.json("GET", path)["state"] == "sent"
    assert api.json("GET", path)["updated_at"] == "2025-03-01T12:00:10Z"
    clock.advance(ACTION_SECONDS * 0.9 - 1)
    assert api.json("GET", path)["state"] == "sent"
    clock.advance(1)
    finished = api.json("GET", path)
    assert (finished["state"], finished["updated_at"]) == ("success", "2025-03-01T12:01:40Z")


def test_a_successful_create_replaces_the_snapshot_with_one_expiring_20_days_later(
    fake: FakeHostinger, api: Api, clock: ManualClock, machine_id: int
) -> None:
    old = fake.set_snapshot(machine_id, START - timedelta(days=3), snapshot_id=7)
    api.call("POST", f"/{machine_id}/snapshot")
    clock.advance(ACTION_SECONDS / 2)
    assert api.json("GET", f"/{machine_id}/snapshot") == old
    # Looking late does not matter: the snapshot is stamped when the action finished.
    clock.advance(ACTION_SECONDS * 5)
    new = api.json("GET", f"/{machine_id}/snapshot")
    assert new["id"] != 7
    assert new["created_at"] == "2025-03-01T12:01:40Z"
    assert new["expires_at"] == "2025-03-21T12:01:40Z"
    assert new["restore_time"] > 0


def test_second_create_while_an_action_runs_is_answered_with_422(
    fake: FakeHostinger, api: Api, machine_id: int
) -> None:
    api.call("POST", f"/{machine_id}/snapshot")
    assert fake.vm(machine_id)["actions_lock"] == "locked"
    for method, path in LOCKED_OUT_CALLS:
        answer = api.call(method, f"/{machine_id}{path}")
        assert answer.status_code == 422
        body = answer.json()
        assert body["message"] == "Another action is already in progress for this virtual machine"
        assert body["errors"]
    assert len(fake.actions_of(machine_id)) == 1


def test_of_many_simultaneous_creates_on_one_machine_exactly_one_is_accepted(
    fake: FakeHostinger, machine_id: int
) -> None:
    def create() -> int:
        with bearer_session() as session:
            url = f"{fake.base_url}{PREFIX}/{machine_id}/snapshot"
            return session.post(url, timeout=5).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _: create(), range(8)))
    assert statuses == [200] + [422] * 7
    assert len(fake.actions_of(machine_id)) == 1
    assert fake.count("POST", "/snapshot") == 8


def test_an_action_on_one_machine_does_not_lock_another(
    fake: FakeHostinger, api: Api, machine_id: int
) -> None:
    api.call("POST", f"/{machine_id}/snapshot")
    assert api.call("POST", f"/{fake.vm_ids[1]}/snapshot").status_code == 200


def test_the_actions_lock_is_released_when_the_action_succeeds(
    fake: FakeHostinger, api: Api, clock: ManualClock, machine_id: int
) -> None:
    api.call("POST", f"/{machine_id}/snapshot")
    clock.advance(ACTION_SECONDS)
    assert api.json("GET", f"/{machine_id}")["actions_lock"] == "unlocked"
    assert api.call("POST", f"/{machine_id}/snapshot").status_code == 200


def test_a_manual_actions_lock_makes_create_delete_and_restore_answer_422(
    fake: FakeHostinger, api: Api, machine_id: int
) -> None:
    fake.set_snapshot(machine_id, START - timedelta(days=1))
    fake.set_actions_lock(machine_id, "locked")
    assert api.json("GET", f"/{machine_id}")["actions_lock"] == "locked"
    for method, path in LOCKED_OUT_CALLS:
        assert api.call(method, f"/{machine_id}{path}").status_code == 422
    fake.set_actions_lock(machine_id, "unlocked")
    assert api.call("POST", f"/{machine_id}/snapshot").status_code == 200


def test_delete_removes_the_snapshot_when_its_action_succeeds(
    fake: FakeHostinger, api: Api, clock: ManualClock, machine_id: int
) -> None:
    fake.set_snapshot(machine_id, START - timedelta(days=1))
    action = api.json("DELETE", f"/{machine_id}/snapshot")
    assert action["name"] == "delete_snapshot"
    assert fake.snapshot_of(machine_id) is not None
    clock.advance(ACTION_SECONDS)
    assert fake.snapshot_of(machine_id) is None


def test_delete_without_a_snapshot_is_answered_404_snapshot_not_found(
    api: Api, machine_id: int
) -> None:
    answer = api.call("DELETE", f"/{machine_id}/snapshot")
    assert (answer.status_code, answer.json()["message"]) == (404, "Snapshot not found")


def test_restore_shows_the_machine_as_restoring_until_its_action_succeeds(
    fake: FakeHostinger, api: Api, clock: ManualClock, machine_id: int
) -> None:
    fake.set_snapshot(machine_id, START - timedelta(days=1))
    fake.set_vm_state(machine_id, "stopped")
    action = api.json("POST", f"/{machine_id}/snapshot/restore")
    assert action["name"] == "restore_snapshot"
    assert api.json("GET", f"/{machine_id}")["state"] == "restoring"
    clock.advance(ACTION_SECONDS)
    machine = api.json("GET", f"/{machine_id}")
    assert (machine["state"], machine["actions_lock"]) == ("running", "unlocked")
    assert fake.snapshot_of(machine_id) is not None


def test_restore_without_a_snapshot_is_answered_422(api: Api, machine_id: int) -> None:
    answer = api.call("POST", f"/{machine_id}/snapshot/restore")
    assert answer.status_code == 422
    assert "snapshot" in answer.json()["errors"]


def test_a_backup_restore_runs_as_an_action_and_unknown_backups_are_404(
    api: Api, clock: ManualClock, machine_id: int
) -> None:
    backup_id = api.json("GET", f"/{machine_id}/backups")["data"][0]["id"]
    assert api.call("POST", f"/{machine_id}/backups/1/restore").status_code == 404
    action = api.json("POST", f"/{machine_id}/backups/{backup_id}/restore")
    assert action["name"] == "restore_backup"
    assert api.json("GET", f"/{machine_id}")["state"] == "restoring"
    clock.advance(ACTION_SECONDS)
    assert api.json("GET", f"/{machine_id}")["state"] == "running"


def test_actions_are_paginated_15_per_page_newest_first(
    fake: FakeHostinger, api: Api, clock: ManualClock, machine_id: int
) -> None:
    created = []
    for _ in range(16):
        created.append(api.json("POST", f"/{machine_id}/snapshot")["id"])
        clock.advance(ACTION_SECONDS)
    first = api.json("GET", f"/{machine_id}/actions")
    second = api.json("GET", f"/{machine_id}/actions?page=2")
    assert first["meta"] == {"current_page": 1, "per_page": 15, "total": 16}
    assert second["meta"] == {"current_page": 2, "per_page": 15, "total": 16}
    listed = [action["id"] for action in first["data"] + second["data"]]
    assert listed == list(reversed(created))
    assert api.json("GET", f"/{machine_id}/actions?page=9")["data"] == []
    assert api.json("GET", f"/{machine_id}/actions?page=nonsense")["meta"]["current_page"] == 1
    assert [action["id"] for action in fake.actions_of(machine_id)] == listed


def test_getting_an_unknown_action_or_one_of_another_machine_is_404(
    fake: FakeHostinger, api: Api, machine_id: int
) -> None:
    action_id = api.json("POST", f"/{machine_id}/snapshot")["id"]
    assert api.call("GET", f"/{machine_id}/actions/{action_id + 1000}").status_code == 404
    other = api.call("GET", f"/{fake.vm_ids[1]}/actions/{action_id}")
    assert (other.status_code, other.json()["message"]) == (404, "Action not found")


def test_every_machine_starts_with_one_or_two_weekly_backups_older_than_the_start(
    fake: FakeHostinger, api: Api
) -> None:
    for vm_id in fake.vm_ids:
        page = api.json("GET", f"/{vm_id}/backups")
        assert 1 <= page["meta"]["total"] == len(page["data"]) <= 2
        moments = [datetime.fromisoformat(backup["created_at"]) for backup in page["data"]]
        assert all(moment < START for moment in moments)
        assert moments == sorted(moments, reverse=True)
        if len(moments) == 2:
            assert moments[0] - moments[1] == timedelta(days=7)


def test_added_backups_are_listed_newest_first(
    fake: FakeHostinger, api: Api, machine_id: int
) -> None:
    added = fake.add_backup(machine_id, START + timedelta(hours=1), size_kb=1024)
    page = api.json("GET", f"/{machine_id}/backups")
    assert page["data"][0] == added
    assert added["size"] == 1024


def test_test_controls_refuse_unknown_machines_and_bad_values(fake: FakeHostinger) -> None:
    with pytest.raises(KeyError):
        fake.vm(1)
    with pytest.raises(KeyError):
        fake.set_snapshot(1, START)
    with pytest.raises(ValueError):
        fake.set_actions_lock(fake.vm_ids[0], "maybe")
    with pytest.raises(ValueError):
        fake.set_snapshot(fake.vm_ids[0], datetime(2025, 1, 1))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(ValueError):
        fake.no_snapshot_as = "teapot"


def test_set_snapshot_defaults_to_a_20_day_lifetime_and_clear_snapshot_removes_it(
    fake: FakeHostinger, machine_id: int
) -> None:
    snapshot = fake.set_snapshot(machine_id, START)
    assert snapshot["expires_at"] == "2025-03-21T12:00:00Z"
    fake.clear_snapshot(machine_id)
    assert fake.snapshot_of(machine_id) is None


def test_the_rate_limit_answers_429_with_retry_after_and_does_not_execute(
    clock: ManualClock,
) -> None:
    with FakeHostinger(token=TOKEN, clock=clock, requests_per_minute=3) as fake:
        api = Api(fake)
        machine_id = fake.vm_ids[0]
        first = api.call("GET")
        assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == (
            "3",
            "2",
        )
        clock.advance(20)
        api.call("GET")
        api.call("GET")
        clock.advance(10)
        refused = api.call("POST", f"/{machine_id}/snapshot")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "30"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["X-RateLimit-Limit"] == "3"
        assert fake.actions_of(machine_id) == []
        assert fake.requests[-1].status == 429
        clock.advance(30)
        assert api.call("POST", f"/{machine_id}/snapshot").status_code == 200


def test_a_fixed_window_opens_at_the_first_request_and_resets_when_it_expires(
    clock: ManualClock,
) -> None:
    with FakeHostinger(token=TOKEN, clock=clock, fixed_window=(3, 10)) as fake:
        api = Api(fake)
        machine_id = fake.vm_ids[0]
        clock.advance(4)  # the window opens with the first request, not with the server
        remaining = [api.call("GET").headers["X-RateLimit-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        clock.advance(7.5)
        refused = api.call("POST", f"/{machine_id}/snapshot")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "3"  # 2.5 s left, in whole seconds
        assert refused.headers["X-RateLimit-Limit"] == "3"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        reset_at = START + timedelta(seconds=14)
        assert refused.headers["X-RateLimit-Reset"] == str(int(reset_at.timestamp()))
        assert fake.actions_of(machine_id) == []
        clock.advance(2.5)  # the window expired: a fresh one opens with this request
        accepted = api.call("POST", f"/{machine_id}/snapshot")
        assert accepted.status_code == 200
        assert accepted.headers["X-RateLimit-Remaining"] == "2"
        assert "Retry-After" not in accepted.headers


def test_a_lying_server_names_its_retry_after_whatever_the_window_says(
    clock: ManualClock,
) -> None:
    with FakeHostinger(token=TOKEN, clock=clock, fixed_window=(1, 60), retry_after=1) as fake:
        api = Api(fake)
        api.call("GET")
        refused = api.call("GET")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        clock.advance(1)
        assert api.call("GET").status_code == 429  # the window is what it was


def test_contradictory_rate_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        FakeHostinger(token=TOKEN, requests_per_minute=3, fixed_window=(3, 10))
    with pytest.raises(ValueError, match="needs a rate limit"):
        FakeHostinger(token=TOKEN, retry_after=1)


def test_without_a_rate_limit_no_rate_limit_headers_are_sent(api: Api) -> None:
    assert "X-RateLimit-Limit" not in api.call("GET").headers


def test_the_request_log_records_every_request_in_arrival_order(
    fake: FakeHostinger, api: Api, clock: ManualClock, machine_id: int
) -> None:
    api.call("GET", f"/{machine_id}/actions?page=2&x=1")
    clock.advance(5)
    requests.post(f"{fake.base_url}{PREFIX}/{machine_id}/snapshot", timeout=5)
    api.call("POST", f"/{machine_id}/snapshot")
    assert fake.requests == [
        RecordedRequest(
            "GET", f"{PREFIX}/{machine_id}/actions", {"page": "2", "x": "1"}, 200, START, True
        ),
        RecordedRequest(
            "POST",
            f"{PREFIX}/{machine_id}/snapshot",
            {},
            401,
            START + timedelta(seconds=5),
            False,
        ),
        RecordedRequest(
            "POST", f"{PREFIX}/{machine_id}/snapshot", {}, 200, START + timedelta(seconds=5), True
        ),
    ]


def test_counting_creates_leaves_out_restores_and_clearing_empties_the_log(
    fake: FakeHostinger, api: Api, clock: ManualClock, machine_id: int
) -> None:
    api.call("POST", f"/{machine_id}/snapshot")
    clock.advance(ACTION_SECONDS)
    api.call("POST", f"/{machine_id}/snapshot/restore")
    api.call("GET", f"/{machine_id}/snapshot")
    assert fake.count("POST", "/snapshot") == 1
    assert fake.count("post", "/snapshot/restore") == 1
    assert len(fake.requests_matching(path_suffix="/snapshot")) == 2
    assert len(fake.requests_matching(method="GET")) == 1
    fake.clear_requests()
    assert fake.requests == []


def test_two_fakes_with_the_same_seed_answer_the_same_ids() -> None:
    def run_once(seed: int) -> list[Any]:
        with FakeHostinger(token=TOKEN, clock=ManualClock(START), seed=seed) as fake:
            api = Api(fake)
            machine_id = fake.vm_ids[0]
            action = api.call("POST", f"/{machine_id}/snapshot")
            fake.clock.sleep(10)
            return [
                api.json("GET"),
                api.json("GET", f"/{machine_id}/backups"),
                action.json(),
                action.headers["X-Correlation-Id"],
                api.json("GET", f"/{machine_id}/snapshot"),
                api.json("GET", "/1"),
            ]

    assert run_once(4) == run_once(4)
    assert run_once(4) != run_once(5)


def test_correlation_ids_are_uuid4_in_the_body_and_the_header(api: Api) -> None:
    answer = api.call("GET", "/1")
    assert answer.headers["X-Correlation-Id"] == answer.json()["correlation_id"]
    assert uuid.UUID(answer.json()["correlation_id"]).version == 4


def test_requests_are_not_logged_to_standard_error_unless_verbose(
    clock: ManualClock, capfd: pytest.CaptureFixture[str]
) -> None:
    with FakeHostinger(token=TOKEN, clock=clock) as quiet:
        Api(quiet).call("GET")
    assert capfd.readouterr().err == ""
    with FakeHostinger(token=TOKEN, clock=clock, verbose=True) as verbose:
        Api(verbose).call("GET")
    assert f"GET {PREFIX} HTTP/1.1" in capfd.readouterr().err


def test_stop_closes_kept_alive_connections_and_frees_the_port(clock: ManualClock) -> None:
    fake = FakeHostinger(token=TOKEN, clock=clock)
    fake.start()
    api = Api(fake)
    base_url = fake.base_url
    assert api.call("GET").status_code == 200
    fake.stop()
    fake.stop()
    with pytest.raises(requests.ConnectionError):
        api.session.get(base_url + PREFIX, timeout=5)
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_server((host, int(port))):
        pass


def test_starting_twice_is_refused(fake: FakeHostinger) -> None:
    with pytest.raises(RuntimeError):
        fake.start()
