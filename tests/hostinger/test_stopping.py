"""Stopping: requests queued behind the budget give up at once and nothing is sent."""

from __future__ import annotations

import threading
import time

import pytest

from snapd.fakeapi import FakeHostinger
from snapd.hostinger import ConnectionFailedError, HostingerClient
from snapd.hostinger.budget import BudgetClosedError, RequestBudget
from tests.conftest import TOKEN


def test_a_closed_budget_refuses_at_once() -> None:
    budget = RequestBudget(60)
    budget.close()
    with pytest.raises(BudgetClosedError):
        budget.acquire()


def test_closing_the_budget_wakes_a_caller_waiting_for_a_token() -> None:
    budget = RequestBudget(1, burst=1)  # one request a minute
    budget.acquire()
    failures: list[BaseException] = []

    def wait_for_a_token() -> None:
        try:
            budget.acquire()
        except BudgetClosedError as error:
            failures.append(error)

    waiter = threading.Thread(target=wait_for_a_token)
    waiter.start()
    time.sleep(0.1)
    started = time.monotonic()
    budget.close()
    waiter.join(timeout=5)
    assert time.monotonic() - started < 1
    assert len(failures) == 1


def test_a_create_queued_behind_a_closed_budget_is_never_sent() -> None:
    with FakeHostinger(token=TOKEN, vm_count=1) as fake:
        budget = RequestBudget(60)
        client = HostingerClient(base_url=fake.base_url, token=TOKEN, budget=budget)
        budget.close()
        with pytest.raises(ConnectionFailedError) as caught:
            client.create_snapshot(fake.vm_ids[0])
        client.close()
        assert caught.value.reason == "stopped"
        assert fake.count() == 0
