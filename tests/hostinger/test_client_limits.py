"""Answers the client must survive: too large, nested too deeply, not UTF-8, too slow.

Each ends in the client's own error within a bounded time and memory: a read gets
``InvalidResponseError`` (or is retried, for time), a create whose answer cannot be used
gets ``AmbiguousRequestError``, because the fake's request log shows it was executed.
"""

from __future__ import annotations

import threading
import time
import tracemalloc

import pytest

from snapd.fakeapi import FakeHostinger, Fault
from snapd.hostinger import (
    MAXIMUM_BODY_BYTES,
    AmbiguousRequestError,
    ConnectionFailedError,
    HostingerClient,
    InvalidResponseError,
)
from snapd.hostinger.budget import RequestBudget
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

# Slack for thread scheduling on a busy machine, on top of the configured timeout.
SLACK = 0.6
TIMEOUT = 0.4


def test_a_400_megabyte_answer_is_not_read_past_one_mebibyte(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="huge_body", endpoint="get_vm", size=400 * 1024 * 1024))

    tracemalloc.start()
    try:
        started = time.monotonic()
        error = expect_error(
            InvalidResponseError, lambda: client.get_virtual_machine(fake.vm_ids[0])
        )
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert error.status == 200
    assert f"larger than {MAXIMUM_BODY_BYTES} bytes" in error.message
    assert error.correlation_id
    assert peak < 8 * MAXIMUM_BODY_BYTES
    assert elapsed < 5.0
    assert fake.count("GET", vm_path(fake)) == 1


def test_a_create_accepted_with_a_huge_answer_is_ambiguous(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="huge_body", endpoint="create_snapshot"))

    error = expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.status == 200
    assert error.reason == "response"
    assert error.correlation_id
    assert len(fake.actions_of(fake.vm_ids[0])) == 1


def test_deeply_nested_json_on_a_read_is_an_invalid_response(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="deep_json", endpoint="get_snapshot"))

    error = expect_error(InvalidResponseError, lambda: client.get_snapshot(fake.vm_ids[0]))

    assert "nested too deeply" in error.message
    assert fake.count("GET", "/snapshot") == 1


def test_deeply_nested_json_after_a_create_is_ambiguous(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="deep_json", endpoint="create_snapshot"))

    error = expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.reason == "response"
    assert fake.count("POST", "/snapshot") == 1


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b'{"id": 1, "state": "\xff\xfe"}', "not valid UTF-8"),
        (b'{"id": 1, "state": ', "not valid JSON"),
        (b"\x00\x01\x02", "not valid"),
    ],
)
def test_an_undecodable_answer_to_a_read_is_an_invalid_response(
    body: bytes, complaint: str
) -> None:
    answer = Scripted(body=body, headers={"X-Correlation-Id": "corr-7"})
    with LocalServer(answer) as server, make_client(server.base_url) as client:
        error = expect_error(InvalidResponseError, lambda: client.get_virtual_machine(1))

    assert complaint in error.message
    assert error.correlation_id == "corr-7"


def test_an_undecodable_answer_to_a_delete_is_ambiguous() -> None:
    answer = Scripted(body=b'{"id": "\xff"}', headers={"X-Correlation-Id": "corr-8"})
    with LocalServer(answer) as server, make_client(server.base_url) as client:
        error = expect_error(AmbiguousRequestError, lambda: client.delete_snapshot(1))

    assert error.reason == "response"
    assert error.correlation_id == "corr-8"


def test_an_error_answer_with_an_unreadable_body_keeps_its_status_meaning() -> None:
    answer = Scripted(status=404, body=b"[" * 100_000, headers={"X-Correlation-Id": "c-9"})
    with LocalServer(answer) as server, make_client(server.base_url) as client:
        assert client.get_snapshot(1) is None


def test_a_read_trickled_one_byte_at_a_time_ends_at_the_total_deadline(
    fake: FakeHostinger, observer: RecordingObserver
) -> None:
    fake.inject(Fault(kind="trickle", endpoint="get_vm", count=None, seconds=0.05))
    with make_client(
        fake.base_url, observer=observer, timeout=TIMEOUT, retry_total_seconds=0
    ) as client:
        started = time.monotonic()
        error = expect_error(
            ConnectionFailedError, lambda: client.get_virtual_machine(fake.vm_ids[0])
        )
        elapsed = time.monotonic() - started

    assert TIMEOUT <= elapsed < TIMEOUT + SLACK
    assert error.reason == "read"
    assert f"within {TIMEOUT:g} s" in error.message
    assert observer.codes() == ["error"]


def test_a_trickled_read_is_retried_and_the_retry_succeeds(
    fake: FakeHostinger, observer: RecordingObserver
) -> None:
    fake.inject(Fault(kind="trickle_body", endpoint="get_vm", seconds=0.05))
    with make_client(fake.base_url, observer=observer, timeout=TIMEOUT) as client:
        machine = client.get_virtual_machine(fake.vm_ids[0])

    assert machine.id == fake.vm_ids[0]
    assert observer.codes() == ["error", "200"]
    assert [reason for _, reason in observer.retried] == ["read"]


@pytest.mark.parametrize("kind", ["trickle", "trickle_body", "accept_then_timeout"])
def test_a_create_that_does_not_finish_answering_in_time_is_ambiguous_and_was_executed(
    fake: FakeHostinger, observer: RecordingObserver, kind: str
) -> None:
    fake.inject(
        Fault(kind=kind, endpoint="create_snapshot", seconds=0.1 if "trickle" in kind else 5)
    )
    with make_client(fake.base_url, observer=observer, timeout=TIMEOUT) as client:
        started = time.monotonic()
        error = expect_error(AmbiguousRequestError, lambda: client.create_snapshot(fake.vm_ids[0]))
        elapsed = time.monotonic() - started

    assert elapsed < TIMEOUT + SLACK
    assert error.reason == "read"
    assert error.status is None
    assert observer.codes() == ["error"]
    assert observer.retried == []
    # Sent once, executed once: the fake logged it before it started to answer.
    assert fake.count("POST", "/snapshot") == 1
    assert len(fake.actions_of(fake.vm_ids[0])) == 1


@pytest.mark.parametrize("identifier", ["²", "9" * 5000])
def test_an_id_no_integer_parser_should_be_given_is_an_invalid_response(
    identifier: str,
) -> None:
    answer = Scripted(body={"id": identifier, "state": "running"})
    with LocalServer(answer) as server, make_client(server.base_url) as client:
        error = expect_error(InvalidResponseError, lambda: client.get_virtual_machine(1))

    assert "without an integer id" in error.message
    assert identifier not in str(error)


def test_a_read_waiting_to_retry_stops_at_once_when_the_budget_closes(
    fake: FakeHostinger,
) -> None:
    budget = RequestBudget(6000, burst=100)
    fake.inject(Fault(kind="status", endpoint="get_vm", status=503, headers={"Retry-After": "30"}))
    closer = threading.Timer(0.2, budget.close)
    with make_client(fake.base_url, budget=budget, retry_total_seconds=60) as client:
        closer.start()
        started = time.monotonic()
        error = expect_error(
            ConnectionFailedError, lambda: client.get_virtual_machine(fake.vm_ids[0])
        )
        elapsed = time.monotonic() - started
    closer.join()

    assert error.reason == "stopped"
    assert elapsed < 2.0
    assert fake.count("GET", vm_path(fake)) == 1
