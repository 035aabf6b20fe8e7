"""Retries, pacing through the request budget, and reports to the observer and the log.

The assertions are on the fake's request log (how many requests really arrived) and on
elapsed time, so they hold for the HTTP traffic, not just for the client's own account.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

import pytest

from snapd.fakeapi import FakeHostinger, Fault
from snapd.hostinger import (
    ENDPOINTS,
    HostingerClient,
    RateLimitedError,
    ServerError,
)
from tests.support.client import (
    LocalServer,
    RecordingBudget,
    RecordingObserver,
    Scripted,
    expect_error,
    make_client,
    running_fake,
    templates,
    vm_path,
)
from tests.support.client import budget as budget
from tests.support.client import client as client
from tests.support.client import fake_settings as fake_settings
from tests.support.client import logs as logs
from tests.support.client import observer as observer


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_get_is_retried_on_a_server_error_until_it_succeeds(
    fake: FakeHostinger, client: HostingerClient, observer: RecordingObserver, status: int
) -> None:
    fake.inject(Fault(kind="status", endpoint="get_vm", count=2, status=status))

    machine = client.get_virtual_machine(fake.vm_ids[0])

    assert machine.id == fake.vm_ids[0]
    assert [r.status for r in fake.requests_matching("GET", vm_path(fake))] == [
        status,
        status,
        200,
    ]
    assert observer.codes() == [str(status), str(status), "200"]
    assert observer.retried == [(ENDPOINTS["get_vm"], str(status))] * 2


def test_a_get_is_retried_on_503_after_its_retry_after(
    fake: FakeHostinger, client: HostingerClient
) -> None:
    fake.inject(Fault(kind="status", endpoint="get_snapshot", count=1, status=503))

    started = time.monotonic()
    assert client.get_snapshot(fake.vm_ids[0]) is None
    elapsed = time.monotonic() - started

    assert fake.count("GET", "/snapshot") == 2  # one failure + one success (404: none)
    assert elapsed >= 1.0  # the fake's Retry-After


def test_a_get_is_retried_on_429_only_after_retry_after_and_pauses_the_budget(
    fake: FakeHostinger, client: HostingerClient, budget: RecordingBudget
) -> None:
    fake.inject(Fault(kind="status", endpoint="list_vms", count=1, status=429))

    started = time.monotonic()
    machines = client.list_virtual_machines()
    elapsed = time.monotonic() - started

    assert [machine.id for machine in machines] == fake.vm_ids
    assert [r.status for r in fake.requests_matching("GET", "/virtual-machines")] == [429, 200]
    assert elapsed >= 1.0
    assert budget.pauses == [1.0]


def test_every_http_attempt_takes_a_token_from_the_budget(
    fake: FakeHostinger, client: HostingerClient, budget: RecordingBudget
) -> None:
    fake.inject(Fault(kind="status", endpoint="get_vm", count=3, status=500))

    client.get_virtual_machine(fake.vm_ids[0])

    assert budget.acquired == 4 == fake.count("GET", vm_path(fake))


def test_a_get_gives_up_with_server_error_when_the_retry_time_runs_out(
    fake: FakeHostinger, observer: RecordingObserver
) -> None:
    fake.inject(Fault(kind="status", endpoint="get_vm", count=None, status=500))
    with make_client(
        fake.base_url, observer=observer, retry_total_seconds=0.3, backoff_factor=0.05
    ) as client:
        started = time.monotonic()
        error = expect_error(ServerError, lambda: client.get_virtual_machine(fake.vm_ids[0]))
        elapsed = time.monotonic() - started

    assert error.status == 500
    assert error.correlation_id
    assert error.endpoint == ENDPOINTS["get_vm"]
    attempts = fake.count("GET", vm_path(fake))
    assert 2 <= attempts <= 6
    assert len(observer.finished) == attempts
    assert len(observer.retried) == attempts - 1
    assert elapsed < 2.0


def test_a_retry_after_beyond_the_time_bound_is_returned_at_once_as_rate_limited(
    budget: RecordingBudget,
) -> None:
    with (
        running_fake(requests_per_minute=2) as fake,
        make_client(fake.base_url, budget=budget, retry_total_seconds=5.0) as client,
    ):
        client.list_virtual_machines()
        client.list_virtual_machines()
        started = time.monotonic()
        error = expect_error(RateLimitedError, client.list_virtual_machines)
        elapsed = time.monotonic() - started

        assert fake.count("GET", "/virtual-machines") == 3
    assert error.status == 429
    assert error.retry_after is not None and error.retry_after > 5.0
    assert elapsed < 1.0
    # The whole budget stops until the window reopens, and the headers said so too.
    assert budget.pauses and max(budget.pauses) > 5.0
    assert (0, None) in budget.observed


def test_a_read_that_times_out_is_retried(fake: FakeHostinger, observer: RecordingObserver) -> None:
    fake.inject(Fault(kind="latency", endpoint="get_vm", count=1, seconds=1.0))
    with make_client(fake.base_url, observer=observer, timeout=0.3) as client:
        machine = client.get_virtual_machine(fake.vm_ids[0])

    assert machine.id == fake.vm_ids[0]
    assert observer.codes() == ["error", "200"]
    assert observer.retried == [(ENDPOINTS["get_vm"], "read")]


def test_the_observer_sees_path_templates_never_raw_paths(
    fake: FakeHostinger, client: HostingerClient, observer: RecordingObserver
) -> None:
    machine_id = fake.vm_ids[0]
    fake.inject(Fault(kind="status", endpoint="list_actions", count=1, status=500))
    client.get_virtual_machine(machine_id)
    client.get_snapshot(machine_id)
    action = client.create_snapshot(machine_id)
    client.get_action(machine_id, action.id)
    client.list_actions(machine_id)
    client.list_backups(machine_id)

    assert {endpoint for _, endpoint, _, _ in observer.finished} <= templates()
    assert {endpoint for endpoint, _ in observer.retried} <= templates()
    assert all(seconds >= 0 for _, _, _, seconds in observer.finished)


def test_a_failing_observer_does_not_fail_the_call(fake: FakeHostinger) -> None:
    class BrokenObserver:
        def request_finished(self, method: str, endpoint: str, code: str, seconds: float) -> None:
            raise RuntimeError("metrics are down")

        def request_retried(self, endpoint: str, reason: str) -> None:
            raise RuntimeError("metrics are down")

        def budget_changed(self, requests_per_minute: float) -> None:
            raise RuntimeError("metrics are down")

    fake.inject(Fault(kind="status", endpoint="get_vm", count=1, status=500))
    with make_client(fake.base_url, observer=BrokenObserver()) as client:
        assert client.get_virtual_machine(fake.vm_ids[0]).id == fake.vm_ids[0]


def test_each_call_logs_one_debug_line_and_each_retry_one_warning(
    fake: FakeHostinger, client: HostingerClient, logs: list[MutableMapping[str, Any]]
) -> None:
    fake.inject(Fault(kind="status", endpoint="get_vm", count=1, status=500))

    client.get_virtual_machine(fake.vm_ids[0])

    requests = [entry for entry in logs if entry["event"] == "hostinger_request"]
    retries = [entry for entry in logs if entry["event"] == "hostinger_request_retry"]
    assert len(requests) == 1 and len(retries) == 1
    assert requests[0]["endpoint"] == ENDPOINTS["get_vm"]
    assert requests[0]["status"] == 200
    assert requests[0]["attempts"] == 2
    assert requests[0]["correlation_id"]
    assert retries[0]["log_level"] == "warning" and retries[0]["reason"] == "500"


def test_rate_limit_headers_feed_the_budget() -> None:
    budget = RecordingBudget()
    answer = Scripted(body=[], headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"})
    with LocalServer(answer) as server, make_client(server.base_url, budget=budget) as client:
        client.list_virtual_machines()

    assert budget.observed == [(0, 7.0)]
    assert budget.pauses == [7.0]


def test_a_reset_given_as_a_unix_time_is_turned_into_seconds_from_now() -> None:
    budget = RecordingBudget()
    reset_at = str(int(time.time()) + 30)
    answer = Scripted(
        body=[], headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_at}
    )
    with LocalServer(answer) as server, make_client(server.base_url, budget=budget) as client:
        client.list_virtual_machines()

    [(remaining, reset_seconds)] = budget.observed
    assert remaining == 0
    assert reset_seconds is not None and 25 < reset_seconds <= 31


def test_a_429_without_retry_after_still_pauses_the_budget() -> None:
    budget = RecordingBudget()
    answer = Scripted(status=429, body={"message": "Too Many Attempts."})
    with LocalServer(answer) as server, make_client(server.base_url, budget=budget) as client:
        error = expect_error(RateLimitedError, lambda: client.create_snapshot(1))

    assert error.retry_after is None
    assert budget.pauses and budget.pauses[0] > 0
