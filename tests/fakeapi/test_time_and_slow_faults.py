"""The fake's clock skew, action list lag, and the faults that answer slowly or hugely."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from email.utils import formatdate, parsedate_to_datetime

import pytest
import requests

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault, parse_fault
from tests.support.fakeapi import ACTION_SECONDS, PREFIX, START, TOKEN, call
from tests.support.fakeapi import action_seconds as action_seconds
from tests.support.fakeapi import clock_start as clock_start
from tests.support.fakeapi import fake_settings as fake_settings
from tests.support.fakeapi import machine_id as machine_id
from tests.support.fakeapi import session as session


def test_every_answer_carries_a_date_header_from_the_skewed_server_clock(
    fake: FakeHostinger, session: requests.Session, clock: ManualClock
) -> None:
    assert call(fake, session, "GET").headers["Date"] == formatdate(START.timestamp(), usegmt=True)
    fake.clock_skew = -600
    fake.inject(Fault(kind="status", endpoint="list_vms", status=503))

    failed = call(fake, session, "GET")

    assert failed.status_code == 503
    assert parsedate_to_datetime(failed.headers["Date"]) == START - timedelta(seconds=600)
    assert fake.server_now() == START - timedelta(seconds=600)


def test_timestamps_follow_the_server_clock_and_progress_follows_the_fake_clock(
    fake: FakeHostinger, session: requests.Session, clock: ManualClock, machine_id: int
) -> None:
    fake.clock_skew = 3600
    action = call(fake, session, "POST", f"/{machine_id}/snapshot").json()
    assert action["created_at"] == "2025-03-01T13:00:00Z"

    clock.advance(ACTION_SECONDS)

    done = call(fake, session, "GET", f"/{machine_id}/actions/{action['id']}").json()
    assert (done["state"], done["updated_at"]) == ("success", "2025-03-01T13:01:40Z")
    snapshot = call(fake, session, "GET", f"/{machine_id}/snapshot").json()
    assert snapshot["created_at"] == "2025-03-01T13:01:40Z"
    assert snapshot["expires_at"] == "2025-03-21T13:01:40Z"


def test_a_new_action_shows_in_the_list_only_after_the_lag_but_at_once_by_id(
    fake: FakeHostinger, session: requests.Session, clock: ManualClock, machine_id: int
) -> None:
    fake.action_list_lag = 30
    action_id = call(fake, session, "POST", f"/{machine_id}/snapshot").json()["id"]

    assert call(fake, session, "GET", f"/{machine_id}/actions").json()["data"] == []
    assert call(fake, session, "GET", f"/{machine_id}/actions/{action_id}").status_code == 200
    clock.advance(30)
    listed = call(fake, session, "GET", f"/{machine_id}/actions").json()["data"]
    assert [item["id"] for item in listed] == [action_id]


def test_a_negative_action_list_lag_is_refused(fake: FakeHostinger) -> None:
    with pytest.raises(ValueError):
        fake.action_list_lag = -1


def test_a_status_fault_carries_the_headers_it_is_given(
    fake: FakeHostinger, session: requests.Session
) -> None:
    fake.inject(
        Fault(kind="status", endpoint="list_vms", status=429, headers={"Retry-After": "86400"})
    )
    fake.inject(Fault(kind="status", endpoint="list_vms", status=429))

    assert call(fake, session, "GET").headers["Retry-After"] == "86400"
    assert call(fake, session, "GET").headers["Retry-After"] == "1"


def test_a_huge_body_is_streamed_with_its_full_length(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    size = 64 * 1024 * 1024
    fake.inject(Fault(kind="huge_body", endpoint="create_snapshot", size=size))

    url = fake.base_url + PREFIX + f"/{machine_id}/snapshot"
    with session.post(url, stream=True, timeout=5) as answer:
        assert answer.status_code == 200
        assert int(answer.headers["Content-Length"]) == size
        first = next(answer.iter_content(chunk_size=1024))
    assert first.startswith(b"[0,0,")
    # The call was executed; the answer is what went wrong.
    assert len(fake.actions_of(machine_id)) == 1


def test_a_small_huge_body_is_valid_json_of_exactly_its_size(
    fake: FakeHostinger, session: requests.Session
) -> None:
    fake.inject(Fault(kind="huge_body", endpoint="list_vms", size=1001))
    body = call(fake, session, "GET").content
    assert len(body) == 1001
    assert set(json.loads(body)) == {0}


def test_deep_json_nests_past_what_a_parser_can_follow(
    fake: FakeHostinger, session: requests.Session
) -> None:
    fake.inject(Fault(kind="deep_json", endpoint="get_vm"))
    body = call(fake, session, "GET", f"/{fake.vm_ids[0]}").content
    assert body.startswith(b"[[[[") and len(body) == 200_000
    with pytest.raises(RecursionError):
        json.loads(body)


def _raw_get(fake: FakeHostinger, path: str) -> socket.socket:
    host, port = fake.base_url.removeprefix("http://").rsplit(":", 1)
    connection = socket.create_connection((host, int(port)), timeout=2)
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    connection.sendall(request.encode())
    return connection


def _received_within(connection: socket.socket, seconds: float) -> bytes:
    received = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        connection.settimeout(left)
        try:
            chunk = connection.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        received += chunk
    return received


def test_trickle_sends_even_the_status_line_one_byte_at_a_time(fake: FakeHostinger) -> None:
    fake.inject(Fault(kind="trickle", endpoint="list_vms", seconds=0.1))
    with _raw_get(fake, PREFIX) as connection:
        received = _received_within(connection, 0.45)
    assert 1 <= len(received) <= 6
    assert b"HTTP/1.1 200".startswith(received)
    assert fake.count("GET", PREFIX) == 1  # logged before the answer started to go out


def test_trickle_body_sends_the_headers_at_once_and_then_the_body_slowly(
    fake: FakeHostinger,
) -> None:
    fake.inject(Fault(kind="trickle_body", endpoint="list_vms", seconds=0.1))
    with _raw_get(fake, PREFIX) as connection:
        received = _received_within(connection, 0.45)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Date: " in head
    assert 1 <= len(body) <= 6


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="trickle", endpoint="list_vms", seconds=5),
        Fault(kind="accept_then_timeout", endpoint="list_vms", seconds=60),
    ],
)
def test_a_slow_answer_in_progress_does_not_hold_up_stop(clock: ManualClock, fault: Fault) -> None:
    fake = FakeHostinger(token=TOKEN, clock=clock)
    fake.start()
    fake.inject(fault)
    with _raw_get(fake, PREFIX):
        deadline = time.monotonic() + 2
        while fake.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 1.0


def test_accept_then_timeout_executes_at_once_and_answers_after_the_client_gave_up(
    fake: FakeHostinger, session: requests.Session, machine_id: int
) -> None:
    fake.inject(Fault(kind="accept_then_timeout", endpoint="create_snapshot", seconds=1.0))
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        call(fake, session, "POST", f"/{machine_id}/snapshot", timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert [request.status for request in fake.requests] == [200]
    assert len(fake.actions_of(machine_id)) == 1


def test_new_fault_options_parse_from_specs() -> None:
    assert parse_fault("list_vms:status:status=429:header=Retry-After=86400") == Fault(
        kind="status", endpoint="list_vms", status=429, headers={"Retry-After": "86400"}
    )
    assert parse_fault("get_vm:huge_body:size=2000000").size == 2_000_000
    assert parse_fault("create_snapshot:accept_then_timeout:seconds=40").seconds == 40
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_fault("list_vms:status:header=Retry-After")
    with pytest.raises(ValueError):
        Fault(kind="huge_body", size=-1)
