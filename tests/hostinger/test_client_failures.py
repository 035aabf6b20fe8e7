"""How the API client reports failures: which error, and how many requests were sent.

The assertions are on the fake's request log (how many requests really arrived) and on
elapsed time, so they hold for the HTTP traffic, not just for the client's own account.
"""

from __future__ import annotations

import socket
import time

import pytest

from snapd.fakeapi import FakeHostinger, Fault
from snapd.hostinger import (
    ENDPOINTS,
    AmbiguousRequestError,
    AuthenticationError,
    BusyError,
    ConnectionFailedError,
    HostingerClient,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
)
from tests.support.client import (
    LocalServer,
    RecordingObserver,
    Scripted,
    expect_error,
    make_client,
    vm_path,
)
from tests.support.client import budget as budget
from tests.support.client import client as client
from tests.support.client import fake_settings as fake_settings
from tests.support.client import logs as logs
from tests.support.client import observer as observer


def test_create_is_not_retried_by_the_transport_on_503(
    fake: FakeHostinger, client: HostingerClient, observer: RecordingObserver
) -> None:
    fake.inject(Fault(kind="status", endpoint="create_snapshot", count=1, status=503))

    error = expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert fake.count("POST", "/snapshot") == 1
    assert error.status == 503
    assert error.reason == "status"
    assert error.correlation_id
    assert observer.retried == []


@pytest.mark.parametrize("operation", ["delete_snapshot", "restore_snapshot"])
def test_delete_and_restore_are_not_retried_by_the_transport_either(
    fake: FakeHostinger, client: HostingerClient, operation: str
) -> None:
    fake.set_snapshot(fake.vm_ids[0], created_at=fake.clock.now())
    fake.inject(Fault(kind="status", endpoint=operation, count=1, status=502))
    method = "DELETE" if operation == "delete_snapshot" else "POST"

    expect_error(AmbiguousRequestError, lambda: getattr(client, operation)(fake.vm_ids[0]))

    assert fake.count(method, ENDPOINTS[operation].rsplit("}", 1)[1]) == 1


def test_create_answered_429_is_not_retried_and_says_how_long_to_wait(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="status", endpoint="create_snapshot", count=1, status=429))

    error = expect_error(RateLimitedError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.retry_after == 1.0
    assert fake.count("POST", "/snapshot") == 1
    assert fake.actions_of(fake.vm_ids[0]) == []


def test_create_that_was_accepted_and_then_failed_is_ambiguous(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="accept_then_fail", endpoint="create_snapshot"))

    error = expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.status == 500
    assert fake.count("POST", "/snapshot") == 1
    # Which is why it is ambiguous: the action exists although the answer was an error.
    assert len(fake.actions_of(fake.vm_ids[0])) == 1


def test_create_whose_connection_drops_after_sending_is_ambiguous(
    fake: FakeHostinger, client: HostingerClient, observer: RecordingObserver
) -> None:
    fake.inject(Fault(kind="accept_then_drop", endpoint="create_snapshot"))

    error = expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.status is None
    assert error.reason == "read"
    assert fake.count("POST", "/snapshot") == 1
    assert observer.codes() == ["error"]


def test_create_that_times_out_is_ambiguous(fake: FakeHostinger) -> None:
    fake.inject(Fault(kind="latency", endpoint="create_snapshot", seconds=1.0))
    with make_client(fake.base_url, timeout=0.3) as client:
        started = time.monotonic()
        error = expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))
        elapsed = time.monotonic() - started

    assert error.reason == "read"
    assert elapsed < 0.9
    deadline = time.monotonic() + 3.0
    while fake.count("POST", "/snapshot") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the fake logs the request when it finishes answering
    assert fake.count("POST", "/snapshot") == 1


def test_create_against_a_closed_port_is_a_connection_failure_not_ambiguous() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    observer = RecordingObserver()
    with make_client(f"http://127.0.0.1:{port}", observer=observer) as client:
        error = expect_error(ConnectionFailedError, lambda: client.create_snapshot(1268054))

    assert error.reason == "connection"
    assert error.status is None
    assert observer.codes() == ["error"]
    assert observer.retried == []


def test_a_get_against_a_closed_port_is_retried_then_fails_to_connect() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    observer = RecordingObserver()
    with make_client(
        f"http://127.0.0.1:{port}", observer=observer, retry_total_seconds=0.2
    ) as client:
        error = expect_error(ConnectionFailedError, lambda: client.get_snapshot(1268054))

    assert error.reason == "connection"
    assert observer.retried and {reason for _, reason in observer.retried} == {"connection"}


@pytest.mark.parametrize("operation", ["list_virtual_machines", "create_snapshot"])
def test_a_wrong_token_fails_at_once_with_authentication_error(
    fake: FakeHostinger, operation: str
) -> None:
    with make_client(fake.base_url, token="not-the-right-token") as client:
        call = getattr(client, operation)
        arguments = () if operation == "list_virtual_machines" else (fake.vm_ids[0],)
        error = expect_error(AuthenticationError, lambda: call(*arguments))

    assert error.status == 401
    assert error.message == "Unauthenticated"
    assert error.correlation_id
    assert len(fake.requests) == 1
    assert not fake.requests[0].authorized


def test_a_403_is_an_authentication_error_too(fake: FakeHostinger, client: HostingerClient) -> None:
    fake.inject(Fault(kind="status", endpoint="get_vm", count=None, status=403))

    expect_error(AuthenticationError, lambda: client.get_virtual_machine(fake.vm_ids[0]))

    assert fake.count("GET", vm_path(fake)) == 1


def test_create_on_a_locked_vm_is_busy_with_the_correlation_id(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.set_actions_lock(fake.vm_ids[0], "locked")

    error = expect_error(BusyError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.status == 422
    assert error.correlation_id
    assert "virtualMachineId" in error.errors
    assert error.correlation_id in str(error)
    assert fake.count("POST", "/snapshot") == 1


def test_409_on_create_is_busy_too(fake: FakeHostinger, client: HostingerClient) -> None:
    fake.inject(Fault(kind="status", endpoint="create_snapshot", count=1, status=409))

    error = expect_error(BusyError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.status == 409


def test_an_unknown_action_is_not_found(fake: FakeHostinger, client: HostingerClient) -> None:
    error = expect_error(NotFoundError, lambda: client.get_action(fake.vm_ids[0], 999))
    assert error.status == 404
    assert error.endpoint == ENDPOINTS["get_action"]


def test_malformed_json_on_a_read_is_an_invalid_response(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="malformed_json", endpoint="get_vm"))

    error = expect_error(InvalidResponseError, lambda: client.get_virtual_machine(fake.vm_ids[0]))

    assert error.status == 200
    assert fake.count("GET", vm_path(fake)) == 1


def test_malformed_json_after_a_create_is_ambiguous_because_the_action_was_made(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="malformed_json", endpoint="create_snapshot"))

    error = expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.reason == "response"
    assert len(fake.actions_of(fake.vm_ids[0])) == 1


def test_an_answer_of_the_wrong_shape_is_an_invalid_response() -> None:
    with LocalServer(Scripted(body={"id": 1})) as server, make_client(server.base_url) as client:
        error = expect_error(InvalidResponseError, client.list_virtual_machines)

    assert error.endpoint == ENDPOINTS["list_vms"]
