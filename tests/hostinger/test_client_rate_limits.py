"""What a rate-limit answer may impose: at most five minutes, whatever the server asks.

``Retry-After`` in seconds or as an HTTP date and ``X-RateLimit-Reset`` are all capped at
``MAXIMUM_RATE_LIMIT_PAUSE``, both for the pause of the shared budget and for the wait
before a retry; ``RateLimitedError.retry_after`` carries the capped value.
"""

from __future__ import annotations

import time
from email.utils import formatdate

from snapd.fakeapi import FakeHostinger, Fault
from snapd.hostinger import MAXIMUM_RATE_LIMIT_PAUSE, HostingerClient, RateLimitedError
from tests.support.budget import FakeTime, make_budget
from tests.support.client import (
    LocalServer,
    RecordingBudget,
    RecordingObserver,
    Scripted,
    expect_error,
    make_client,
)
from tests.support.client import budget as budget
from tests.support.client import client as client
from tests.support.client import fake_settings as fake_settings
from tests.support.client import logs as logs
from tests.support.client import observer as observer


def test_a_retry_after_of_a_day_pauses_the_budget_for_five_minutes_at_most(
    fake: FakeHostinger, client: HostingerClient, budget: RecordingBudget
) -> None:
    fake.inject(
        Fault(
            kind="status", endpoint="create_snapshot", status=429, headers={"Retry-After": "86400"}
        )
    )

    error = expect_error(RateLimitedError, lambda: client.create_snapshot(fake.vm_ids[0]))

    assert error.retry_after == MAXIMUM_RATE_LIMIT_PAUSE == 300
    assert budget.pauses == [300]
    assert fake.actions_of(fake.vm_ids[0]) == []


def test_a_retry_after_date_a_day_away_is_capped_too() -> None:
    budget = RecordingBudget()
    tomorrow = formatdate(time.time() + 86400, usegmt=True)
    answer = Scripted(status=429, body={"message": "Too Many"}, headers={"Retry-After": tomorrow})
    with LocalServer(answer) as server, make_client(server.base_url, budget=budget) as client:
        error = expect_error(RateLimitedError, lambda: client.create_snapshot(1))

    assert error.retry_after == 300
    assert budget.pauses == [300]


def test_a_reset_time_a_day_away_pauses_the_budget_for_five_minutes_at_most() -> None:
    budget = RecordingBudget()
    reset_at = str(int(time.time()) + 86400)
    answer = Scripted(
        body=[], headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_at}
    )
    with LocalServer(answer) as server, make_client(server.base_url, budget=budget) as client:
        client.list_virtual_machines()

    assert budget.observed == [(0, 300)]
    assert budget.pauses == [300]


def test_a_read_told_to_wait_longer_than_its_retry_time_gives_up_at_once(
    fake: FakeHostinger, budget: RecordingBudget
) -> None:
    fake.inject(
        Fault(kind="status", endpoint="list_vms", status=429, headers={"Retry-After": "86400"})
    )
    with make_client(fake.base_url, budget=budget, retry_total_seconds=10) as client:
        started = time.monotonic()
        error = expect_error(RateLimitedError, client.list_virtual_machines)
        elapsed = time.monotonic() - started

    assert error.retry_after == 300
    assert elapsed < 1.0
    assert fake.count("GET", "/virtual-machines") == 1


def test_a_read_retried_after_retry_after_waits_on_the_budgets_clock(
    fake: FakeHostinger, observer: RecordingObserver
) -> None:
    status, header = 503, "2"
    # A 503 does not pause the shared budget (a 429 does), so the only wait is the
    # retry's, and it goes through the budget's clock.
    waits = FakeTime()
    fake.inject(
        Fault(kind="status", endpoint="get_vm", status=status, headers={"Retry-After": header})
    )
    budget = make_budget(6000, waits, burst=100)
    with make_client(fake.base_url, observer=observer, budget=budget) as client:
        started = time.monotonic()
        machine = client.get_virtual_machine(fake.vm_ids[0])
        elapsed = time.monotonic() - started

    assert machine.id == fake.vm_ids[0]
    assert waits.sleeps == [float(header)]
    assert elapsed < 0.5
    assert observer.codes() == [str(status), "200"]
    assert observer.retried == [(observer.finished[0][1], str(status))]


def test_a_read_told_to_wait_a_day_waits_five_minutes_when_its_retry_time_allows(
    fake: FakeHostinger,
) -> None:
    waits = FakeTime()
    fake.inject(
        Fault(kind="status", endpoint="get_vm", status=503, headers={"Retry-After": "86400"})
    )
    budget = make_budget(6000, waits, burst=100)
    with make_client(fake.base_url, budget=budget, retry_total_seconds=3600) as client:
        client.get_virtual_machine(fake.vm_ids[0])

    assert waits.sleeps == [300]


def test_backoff_between_read_retries_grows_and_goes_on_the_budgets_clock(
    fake: FakeHostinger,
) -> None:
    waits = FakeTime()
    fake.inject(Fault(kind="status", endpoint="get_vm", status=500, count=3))
    budget = make_budget(6000, waits, burst=100)
    with make_client(
        fake.base_url, budget=budget, backoff_factor=1.0, retry_total_seconds=60
    ) as client:
        client.get_virtual_machine(fake.vm_ids[0])

    assert len(waits.sleeps) == 3
    for number, seconds in enumerate(waits.sleeps, start=1):
        assert 2 ** (number - 1) <= seconds <= 2 ** (number - 1) + 1.0
