"""The shared request budget, on an injected monotonic clock: nothing here really sleeps."""

from __future__ import annotations

import threading
import time

import pytest

from snapd.hostinger.budget import MAXIMUM_RATE_LIMIT_PAUSE, RequestBudget
from tests.support.budget import FakeTime, make_budget


def test_a_fresh_budget_lets_its_burst_through_at_once_then_paces_at_the_rate() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=5)

    for _ in range(5):
        assert budget.acquire() == 0.0
    assert fake_time.elapsed() == 0.0

    for _ in range(10):
        budget.acquire()
    assert fake_time.elapsed() == pytest.approx(10.0)


def test_the_default_burst_is_a_tenth_of_the_rate_and_at_least_one() -> None:
    assert RequestBudget(60).burst == 6
    assert RequestBudget(5).burst == 1
    assert RequestBudget(600).requests_per_minute == 600


def test_a_long_run_never_goes_faster_than_the_rate_plus_the_burst() -> None:
    fake_time = FakeTime()
    budget = make_budget(120, fake_time)  # two per second, burst 12

    grants = []
    for _ in range(200):
        budget.acquire()
        grants.append(fake_time.elapsed())

    for count, moment in enumerate(grants, start=1):
        assert count <= budget.burst + 2.0 * moment + 1e-6
    assert grants[-1] == pytest.approx((200 - budget.burst) / 2.0)


def test_an_idle_budget_refills_up_to_its_burst_and_no_further() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=3)
    for _ in range(3):
        budget.acquire()

    fake_time.sleep(3600)
    fake_time.sleeps.clear()
    for _ in range(3):
        budget.acquire()
    assert fake_time.sleeps == []
    budget.acquire()
    assert sum(fake_time.sleeps) == pytest.approx(1.0)


def test_pause_for_blocks_the_next_caller_until_the_pause_ends() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=10)

    budget.pause_for(30)
    waited = budget.acquire()

    assert waited == pytest.approx(30.0)
    assert fake_time.elapsed() == pytest.approx(30.0)


def test_after_a_pause_only_one_request_goes_at_once_and_the_rest_follow_at_the_rate() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=10)

    budget.pause_for(30)
    budget.acquire()
    budget.acquire()
    budget.acquire()

    assert fake_time.elapsed() == pytest.approx(32.0)


def test_pause_for_blocks_every_thread() -> None:
    fake_time = FakeTime()
    budget = make_budget(6000, fake_time, burst=100)
    budget.pause_for(30)
    released_at: list[float] = []
    lock = threading.Lock()

    def caller() -> None:
        budget.acquire()
        with lock:
            released_at.append(fake_time.elapsed())

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(released_at) == 8
    assert min(released_at) >= 30.0


def test_a_shorter_pause_does_not_shorten_a_longer_one() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time)

    budget.pause_for(30)
    budget.pause_for(5)
    budget.acquire()

    assert fake_time.elapsed() == pytest.approx(30.0)


@pytest.mark.parametrize("seconds", [0.0, -5.0, float("nan"), float("inf")])
def test_pause_for_ignores_values_that_are_not_a_positive_duration(seconds: float) -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time)

    budget.pause_for(seconds)
    budget.acquire()

    assert fake_time.elapsed() == 0.0


def test_no_remaining_requests_pause_everyone_until_the_reset() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=10)

    budget.observe_headers(remaining=0, reset_seconds=12.5)
    budget.acquire()

    assert fake_time.elapsed() == pytest.approx(12.5)


def test_remaining_requests_change_nothing() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=10)

    budget.observe_headers(remaining=3, reset_seconds=40)
    budget.observe_headers(remaining=None, reset_seconds=40)
    for _ in range(10):
        budget.acquire()

    assert fake_time.elapsed() == 0.0


def test_no_remaining_requests_without_a_reset_time_empty_the_bucket() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=10)

    budget.observe_headers(remaining=0, reset_seconds=None)
    budget.acquire()

    assert fake_time.elapsed() == pytest.approx(1.0)


def test_concurrent_callers_share_one_bucket_without_losing_or_duplicating_tokens() -> None:
    fake_time = FakeTime()
    budget = make_budget(600, fake_time, burst=5)  # ten per second
    grants: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            for _ in range(25):
                budget.acquire()
                with lock:
                    grants.append(fake_time.elapsed())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert errors == []
    assert len(grants) == 200
    # Every grant is recorded at or after the moment it was made, so the k-th recorded
    # time must leave room for k tokens: burst plus ten per second.
    for count, moment in enumerate(sorted(grants), start=1):
        assert count <= 5 + 10.0 * moment + 1e-6


@pytest.mark.parametrize("rate", [0, -1])
def test_a_rate_that_is_not_positive_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="requests_per_minute"):
        RequestBudget(rate)


def test_a_burst_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="burst"):
        RequestBudget(60, burst=0)


def test_a_pause_of_a_day_is_capped_at_five_minutes() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time)
    budget.pause_for(86400)
    budget.acquire()
    assert fake_time.elapsed() == pytest.approx(MAXIMUM_RATE_LIMIT_PAUSE)
    assert MAXIMUM_RATE_LIMIT_PAUSE == 300


def test_a_reset_a_day_away_pauses_for_five_minutes_at_most() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time)
    budget.observe_headers(0, 86400)
    budget.acquire()
    assert fake_time.elapsed() == pytest.approx(MAXIMUM_RATE_LIMIT_PAUSE)


def test_waiting_on_the_budget_ends_at_once_when_it_is_closed() -> None:
    budget = RequestBudget(60)
    closer = threading.Timer(0.1, budget.close)
    closer.start()
    started = time.monotonic()
    budget.wait_before_retry(30)
    assert time.monotonic() - started < 2
    closer.join()
