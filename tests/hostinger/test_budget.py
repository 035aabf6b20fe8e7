"""The request budget's order, wake-ups, learning and stopping, on an injected clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from snapd.clock import ManualClock, Waitable
from snapd.hostinger.budget import BudgetClosedError, RequestBudget
from snapd.hostinger.learned_rate import LearnedRate
from tests.conftest import START
from tests.support.budget import FakeTime, make_budget


class ManualSleeper:
    """A clock that only the test moves; a wait blocks until it passes the target's end
    (or the budget's closed event is set). Counts every wait a caller starts."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.sleeps = 0
        self.asleep = 0
        self._condition = threading.Condition()

    def now(self) -> datetime:
        return START + timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        with self._condition:
            return self.seconds

    def sleep(self, seconds: float) -> None:
        self.wait(threading.Event(), seconds)

    def wait(self, target: Waitable, seconds: float) -> bool:
        assert isinstance(target, threading.Event)  # the budget waits on its closed event
        with self._condition:
            self.sleeps += 1
            self.asleep += 1
            end = self.seconds + seconds
            self._condition.notify_all()
            self._condition.wait_for(
                lambda: self.seconds >= end - 1e-9 or target.is_set(), timeout=10
            )
            self.asleep -= 1
            self._condition.notify_all()
            return target.is_set()

    def advance(self, seconds: float) -> None:
        with self._condition:
            self.seconds += seconds
            self._condition.notify_all()

    def wait_until_asleep(self, count: int) -> None:
        self.wait_until(lambda: self.asleep == count)

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Until ``condition`` (read under the sleeper's lock) holds; fail after 10 s."""
        with self._condition:
            assert self._condition.wait_for(condition, timeout=10)


class Released:
    """The numbers of the callers the budget let through, in order; a test waits on them."""

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self._condition = threading.Condition()

    def add(self, number: int) -> None:
        with self._condition:
            self.numbers.append(number)
            self._condition.notify_all()

    def wait_for(self, count: int) -> None:
        with self._condition:
            assert self._condition.wait_for(lambda: len(self.numbers) >= count, timeout=10)


def test_callers_are_served_in_the_order_they_asked_and_each_sleeps_once() -> None:
    sleeper = ManualSleeper()
    budget = RequestBudget(60, sleeper, burst=1)
    budget.acquire()  # the burst is spent: every caller below must wait for its slot
    released = Released()
    threads: list[threading.Thread] = []
    for number in range(20):  # one after the other, so that the order of asking is known
        threads += start_callers_numbered(budget, number, released)
        sleeper.wait_until_asleep(number + 1)

    for count in range(1, 21):
        sleeper.advance(1.0)  # exactly one more slot has come: one caller goes, in order
        released.wait_for(count)
        sleeper.wait_until_asleep(20 - count)
    for thread in threads:
        thread.join(timeout=10)

    assert released.numbers == list(range(20))
    assert sleeper.sleeps == 20  # one sleep per waiting caller: nobody woke for another's slot


def start_callers_numbered(
    budget: RequestBudget, number: int, released: Released
) -> list[threading.Thread]:
    def caller() -> None:
        budget.acquire()
        released.add(number)

    thread = threading.Thread(target=caller)
    thread.start()
    return [thread]


def test_a_pause_moves_every_reserved_slot_behind_it_in_order() -> None:
    sleeper = ManualSleeper()
    budget = RequestBudget(60, sleeper, burst=1)
    budget.acquire()
    released = Released()
    threads: list[threading.Thread] = []
    for number in range(3):
        threads += start_callers_numbered(budget, number, released)
        sleeper.wait_until_asleep(number + 1)

    budget.pause_for(10)
    sleeper.advance(3.0)  # every original slot has come, but the pause holds them
    sleeper.wait_until(lambda: sleeper.sleeps == 6 and sleeper.asleep == 3)  # each slept once more
    assert released.numbers == []
    sleeper.advance(7.0)  # the pause ends: one caller, then one a second, in order
    for count in range(1, 4):
        released.wait_for(count)
        sleeper.wait_until_asleep(3 - count)
        sleeper.advance(1.0)
    for thread in threads:
        thread.join(timeout=10)

    assert released.numbers == [0, 1, 2]
    assert sleeper.sleeps == 6


def _until(condition: Callable[[], bool]) -> bool:
    """Whether ``condition()`` holds within 10 s of real time (checked every 5 ms)."""
    pause = threading.Event()
    for _ in range(2000):
        if condition():
            return True
        pause.wait(0.005)
    return condition()


def test_a_budget_on_a_manual_clock_holds_a_caller_until_the_clock_is_moved() -> None:
    clock = ManualClock(START)
    budget = RequestBudget(60, clock, burst=1)
    budget.acquire()  # the burst is spent: the next slot is one second away
    waited: list[float] = []
    caller = threading.Thread(target=lambda: waited.append(budget.acquire()), daemon=True)
    caller.start()

    assert _until(lambda: clock.waiting() == 1)
    assert clock.earliest_wait_end() == START + timedelta(seconds=1)
    clock.advance(0.5)
    assert caller.is_alive() and clock.waiting() == 1  # no real time ends a virtual wait
    clock.advance(0.5)
    caller.join(timeout=10)
    assert waited == [1.0]


def test_closing_a_budget_on_a_manual_clock_ends_its_waits_without_moving_the_clock() -> None:
    clock = ManualClock(START)
    budget = RequestBudget(1, clock, burst=1)
    budget.acquire()
    failures: list[BaseException] = []

    def caller() -> None:
        try:
            budget.acquire()
        except BudgetClosedError as error:
            failures.append(error)

    waiting = threading.Thread(target=caller, daemon=True)
    waiting.start()
    assert _until(lambda: clock.waiting() == 1)
    budget.close()
    waiting.join(timeout=10)
    assert len(failures) == 1
    assert clock.now() == START


def test_closing_releases_every_waiting_caller_promptly() -> None:
    budget = RequestBudget(1, burst=1)  # one request a minute: the callers below would wait
    budget.acquire()
    failures: list[BaseException] = []
    lock = threading.Lock()

    def caller() -> None:
        try:
            budget.acquire()
        except BudgetClosedError as error:
            with lock:
                failures.append(error)

    threads = [threading.Thread(target=caller) for _ in range(50)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    budget.close()
    for thread in threads:
        thread.join(timeout=5)

    assert time.monotonic() - started < 2
    assert len(failures) == 50


def test_a_429_halves_the_rate_and_waits_at_least_one_lowered_interval() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=1)
    budget.acquire()

    budget.rate_limited(1.0)  # a server that names one second

    assert budget.learned_requests_per_minute == pytest.approx(30)
    budget.acquire()
    assert fake_time.elapsed() == pytest.approx(2.0)  # one interval at 30/min, not 1 s
    budget.acquire()
    assert fake_time.elapsed() == pytest.approx(4.0)


def test_429s_of_one_episode_lower_the_rate_once() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time)

    for _ in range(5):  # answers to requests that were in flight together
        budget.rate_limited(1.0)

    assert budget.learned_requests_per_minute == pytest.approx(30)


def test_each_new_episode_halves_again_down_to_the_floor() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time)
    rates = []
    for _ in range(8):
        budget.rate_limited(1.0)
        budget.acquire()  # after the pause: the next 429 is a new episode
        rates.append(budget.learned_requests_per_minute)

    assert rates[:3] == pytest.approx([30, 15, 7.5], rel=0.01)
    assert min(rates) == pytest.approx(1.0, rel=0.05)


def test_the_rate_recovers_additively_up_to_the_configured_ceiling() -> None:
    rate = LearnedRate(600, recovery_share=0.1)
    assert rate.decrease(now=0.0) == 300

    assert rate.at(60.0) == pytest.approx(360)  # a tenth of 600 per minute
    assert rate.at(180.0) == pytest.approx(480)
    assert rate.at(300.0) == 600
    assert rate.at(3600.0) == 600  # never above what was configured


def test_a_recovering_budget_paces_faster_again() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time, burst=1)
    budget.rate_limited(1.0)
    fake_time.sleep(600)  # ten quiet minutes: fully recovered

    assert budget.learned_requests_per_minute == 60
    budget.acquire()
    budget.acquire()
    fake_time.sleeps.clear()
    budget.acquire()
    assert fake_time.sleeps == [pytest.approx(1.0)]
    assert not budget.lowered


def test_the_floor_is_never_above_the_configured_rate() -> None:
    rate = LearnedRate(0.5)
    assert rate.decrease(now=0.0) == 0.5


def test_a_429_lowers_the_rate_only_to_a_little_below_the_window_the_server_reveals() -> None:
    fake_time = FakeTime()
    budget = make_budget(6000, fake_time)
    budget.observe_limit(limit=1000, remaining=999)  # this answer opened the server's window
    fake_time.sleep(4)

    budget.rate_limited(6, reset_seconds=6)  # 1000 per 10 s (11 s, the reset is whole seconds)

    assert budget.learned_requests_per_minute == pytest.approx(0.95 * 1000 * 60 / 11)


def test_a_429_from_a_burst_beyond_a_generous_window_keeps_the_rate() -> None:
    fake_time = FakeTime()
    budget = make_budget(60, fake_time)
    budget.observe_limit(limit=1000, remaining=999)
    fake_time.sleep(1)

    budget.rate_limited(9, reset_seconds=9)  # the server allows 6000 a minute

    assert budget.learned_requests_per_minute == 60
