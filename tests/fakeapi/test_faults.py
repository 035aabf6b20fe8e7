"""Fault injection in the fake Hostinger API: each kind, counting, probability, parsing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import requests

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault, parse_fault
from tests.support.fakeapi import ACTION_SECONDS, START, TOKEN, bearer_session, call
from tests.support.fakeapi import action_seconds as action_seconds
from tests.support.fakeapi import clock_start as clock_start
from tests.support.fakeapi import fake_settings as fake_settings
from tests.support.fakeapi import machine_id as machine_id
from tests.support.fakeapi import session as session


def test_a_status_fault_answers_its_status_without_executing_then_wears_off(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    fake.inject(Fault(kind="status", endpoint="create_snapshot", status=503))
    failed = call(fake, session, "POST", f"/{machine_id}/snapshot")
    assert failed.status_code == 503
    assert set(failed.json()) == {"message", "correlation_id"}
    assert fake.actions_of(machine_id) == []
    assert call(fake, session, "POST", f"/{machine_id}/snapshot").status_code == 200


def test_a_fault_applies_only_to_its_endpoint(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    fake.inject(Fault(kind="status", endpoint="get_vm", count=2))
    assert call(fake, session, "GET").status_code == 200
    assert call(fake, session, "GET", f"/{machine_id}").status_code == 500
    assert call(fake, session, "GET", f"/{machine_id}").status_code == 500
    assert call(fake, session, "GET", f"/{machine_id}").status_code == 200


def test_a_fault_on_any_endpoint_without_count_lasts_until_cleared(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    fake.inject(Fault(kind="status", endpoint="*", count=None, status=502))
    statuses = {call(fake, session, "GET", path).status_code for path in ("", f"/{machine_id}")}
    assert statuses == {502}
    fake.clear_faults()
    assert call(fake, session, "GET").status_code == 200


def test_latency_delays_the_answer_past_a_client_timeout(
    fake: FakeHostinger, session: requests.Session
) -> None:
    fake.inject(Fault(kind="latency", endpoint="list_vms", seconds=0.3))
    with pytest.raises(requests.Timeout):
        call(fake, session, "GET", timeout=0.05)
    assert call(fake, session, "GET", timeout=5).status_code == 200


def test_accept_then_fail_creates_the_action_and_answers_500(
    fake: FakeHostinger, session: requests.Session, clock: ManualClock, machine_id: int
) -> None:
    fake.inject(Fault(kind="accept_then_fail", endpoint="create_snapshot"))
    answer = call(fake, session, "POST", f"/{machine_id}/snapshot")
    assert answer.status_code == 500
    assert [action["name"] for action in fake.actions_of(machine_id)] == ["create_snapshot"]
    clock.advance(ACTION_SECONDS)
    assert fake.snapshot_of(machine_id) is not None


def test_accept_then_drop_creates_the_action_and_closes_without_an_answer(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    fake.inject(Fault(kind="accept_then_drop", endpoint="create_snapshot"))
    with pytest.raises(requests.ConnectionError):
        call(fake, session, "POST", f"/{machine_id}/snapshot")
    assert len(fake.actions_of(machine_id)) == 1
    assert fake.requests[-1].status == 0
    assert call(fake, session, "GET", f"/{machine_id}").json()["actions_lock"] == "locked"


def test_an_action_that_never_finishes_keeps_the_machine_locked(
    fake: FakeHostinger, session: requests.Session, clock: ManualClock, machine_id: int
) -> None:
    fake.inject(Fault(kind="action_never_finishes", endpoint="create_snapshot"))
    action_id = call(fake, session, "POST", f"/{machine_id}/snapshot").json()["id"]
    clock.advance(ACTION_SECONDS * 1000)
    action = call(fake, session, "GET", f"/{machine_id}/actions/{action_id}").json()
    assert action["state"] == "sent"
    assert fake.vm(machine_id)["actions_lock"] == "locked"
    assert fake.snapshot_of(machine_id) is None


def test_an_action_error_leaves_the_snapshot_alone_and_releases_the_lock(
    fake: FakeHostinger, session: requests.Session, clock: ManualClock, machine_id: int
) -> None:
    old = fake.set_snapshot(machine_id, START - timedelta(days=2))
    fake.inject(Fault(kind="action_error", endpoint="create_snapshot"))
    action_id = call(fake, session, "POST", f"/{machine_id}/snapshot").json()["id"]
    clock.advance(ACTION_SECONDS)
    action = call(fake, session, "GET", f"/{machine_id}/actions/{action_id}").json()
    assert action["state"] == "error"
    assert fake.snapshot_of(machine_id) == old
    assert fake.vm(machine_id)["actions_lock"] == "unlocked"


def test_action_states_walks_the_given_states_including_undocumented_ones(
    fake: FakeHostinger, session: requests.Session, clock: ManualClock, machine_id: int
) -> None:
    states = ["created", "started", "delayed", "sent", "success"]
    fake.inject(Fault(kind="action_states", endpoint="create_snapshot", states=states))
    action_id = call(fake, session, "POST", f"/{machine_id}/snapshot").json()["id"]
    seen = []
    for _ in states:
        seen.append(
            call(fake, session, "GET", f"/{machine_id}/actions/{action_id}").json()["state"]
        )
        clock.advance(ACTION_SECONDS / (len(states) - 1))
    assert seen == states
    assert fake.snapshot_of(machine_id) is not None


def test_an_action_fault_named_by_get_action_shapes_the_next_created_action(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    fake.inject(parse_fault("get_action:action_states:states=started"))
    assert call(fake, session, "POST", f"/{machine_id}/snapshot").json()["state"] == "started"


def test_an_action_fault_is_not_used_up_by_a_busy_answer(
    fake: FakeHostinger, session: requests.Session, clock: ManualClock, machine_id: int
) -> None:
    fake.set_actions_lock(machine_id, "locked")
    fake.inject(Fault(kind="action_error", endpoint="create_snapshot"))
    assert call(fake, session, "POST", f"/{machine_id}/snapshot").status_code == 422
    fake.set_actions_lock(machine_id, "unlocked")
    action_id = call(fake, session, "POST", f"/{machine_id}/snapshot").json()["id"]
    clock.advance(ACTION_SECONDS)
    action = fake.actions_of(machine_id)[0]
    assert (action["id"], action["state"]) == (action_id, "error")


def test_malformed_json_executes_and_answers_200_with_a_body_that_is_not_json(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    fake.inject(Fault(kind="malformed_json", endpoint="create_snapshot"))
    answer = call(fake, session, "POST", f"/{machine_id}/snapshot")
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)
    assert len(fake.actions_of(machine_id)) == 1


@pytest.mark.parametrize(
    ("shape", "status", "body"),
    [
        ("404", 404, None),
        ("null", 200, None),
        ("empty", 200, {}),
        (
            "null_fields",
            200,
            {"id": None, "restore_time": None, "created_at": None, "expires_at": None},
        ),
    ],
)
def test_a_missing_snapshot_can_be_answered_in_each_undocumented_shape(
    fake: FakeHostinger,
    session: requests.Session,
    machine_id: int,
    shape: str,
    status: int,
    body: Any,
) -> None:
    fake.inject(Fault(kind="no_snapshot_as", endpoint="get_snapshot", no_snapshot_as=shape))
    answer = call(fake, session, "GET", f"/{machine_id}/snapshot")
    assert answer.status_code == status
    if status == 200:
        assert answer.json() == body
    # The fault is used up; the fake's default answer (404) is back.
    assert call(fake, session, "GET", f"/{machine_id}/snapshot").status_code == 404


def test_the_no_snapshot_default_is_an_attribute_and_a_constructor_argument(
    clock: ManualClock, session: requests.Session
) -> None:
    with FakeHostinger(token=TOKEN, clock=clock, no_snapshot_as="null") as fake:
        machine_id = fake.vm_ids[0]
        assert call(fake, session, "GET", f"/{machine_id}/snapshot").text == "null"
        fake.no_snapshot_as = "empty"
        assert call(fake, session, "GET", f"/{machine_id}/snapshot").json() == {}
        fake.set_snapshot(machine_id, START)
        assert call(fake, session, "GET", f"/{machine_id}/snapshot").json()["id"]


def test_a_no_snapshot_fault_waits_for_a_machine_without_snapshot(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    fake.set_snapshot(machine_id, START)
    fake.inject(Fault(kind="no_snapshot_as", endpoint="get_snapshot", no_snapshot_as="empty"))
    assert call(fake, session, "GET", f"/{machine_id}/snapshot").json()["id"]
    assert call(fake, session, "GET", f"/{fake.vm_ids[1]}/snapshot").json() == {}


def _statuses_with_probability(seed: int) -> list[int]:
    with FakeHostinger(token=TOKEN, clock=ManualClock(START), seed=seed) as fake:
        fake.inject(Fault(kind="status", endpoint="*", status=503, probability=0.5))
        with bearer_session() as session:
            return [call(fake, session, "GET").status_code for _ in range(24)]


def test_probabilistic_faults_are_deterministic_under_a_seed_and_ignore_count() -> None:
    first = _statuses_with_probability(3)
    assert first == _statuses_with_probability(3)
    assert first.count(503) > 1
    assert set(first) == {200, 503}
    assert first != _statuses_with_probability(4)


def test_faults_are_logged_with_the_status_answered(
    fake: FakeHostinger, session: requests.Session
) -> None:
    fake.inject(Fault(kind="status", endpoint="list_vms", status=502))
    call(fake, session, "GET")
    assert [(request.status, request.authorized) for request in fake.requests] == [(502, True)]


@pytest.mark.parametrize(
    "arguments",
    [
        {"kind": "explode"},
        {"kind": "status", "endpoint": "get_everything"},
        {"kind": "status", "count": 0},
        {"kind": "status", "probability": 1.5},
        {"kind": "status", "status": 200},
        {"kind": "latency", "seconds": -1},
        {"kind": "action_states"},
        {"kind": "action_error", "endpoint": "list_vms"},
        {"kind": "action_states", "states": ["created", ""]},
        {"kind": "no_snapshot_as", "endpoint": "get_vm"},
        {"kind": "no_snapshot_as", "no_snapshot_as": "teapot"},
    ],
)
def test_inconsistent_faults_are_refused_with_value_error(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Fault(**arguments)


def test_fault_specs_parse_into_faults() -> None:
    assert parse_fault("create_snapshot:accept_then_fail:count=1") == Fault(
        kind="accept_then_fail", endpoint="create_snapshot", count=1
    )
    assert parse_fault("get_action:action_states:states=created,started,success").states == (
        "created",
        "started",
        "success",
    )
    assert parse_fault("*:status:status=503:probability=0.1") == Fault(
        kind="status", endpoint="*", status=503, probability=0.1
    )
    assert parse_fault("list_vms:latency:seconds=2.5:count=none") == Fault(
        kind="latency", endpoint="list_vms", seconds=2.5, count=None
    )


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("create_snapshot", "ENDPOINT:KIND"),
        ("create_snapshot:status:count", "KEY=VALUE"),
        ("create_snapshot:status:colour=red", "unknown option"),
        ("create_snapshot:status:status=bad", "status='bad'"),
        ("create_snapshot:nothing", "unknown fault kind"),
    ],
)
def test_bad_fault_specs_are_refused_with_a_message_naming_the_problem(
    spec: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint) as raised:
        parse_fault(spec)
    assert spec in str(raised.value)
