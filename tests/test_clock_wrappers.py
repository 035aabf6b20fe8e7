"""Clocks on a clock: a stop ends an interruptible clock's waits at once, on a manual
inner clock as on the real one; a stepping clock's wait moves its manual clock."""

from __future__ import annotations

import threading
from datetime import timedelta

from snapd.clock import ManualClock, SystemClock
from snapd.clock_wrappers import InterruptibleClock, SteppingClock
from tests.test_clock import START, STUCK_SECONDS, _in_thread, _wait_until_waiting


def test_a_stop_ends_a_wait_on_another_event_at_once_without_moving_the_manual_clock() -> None:
    clock, stop = ManualClock(START), threading.Event()
    interruptible = InterruptibleClock(stop, clock)
    thread, results = _in_thread(lambda: interruptible.wait(threading.Event(), 3600))
    _wait_until_waiting(clock)

    stop.set()
    thread.join(STUCK_SECONDS)

    assert results == [False]
    assert clock.now() == START


def test_a_stop_ends_a_wait_on_a_condition_at_once() -> None:
    clock, stop = ManualClock(START), threading.Event()
    interruptible = InterruptibleClock(stop, clock)
    condition = threading.Condition()

    def wait() -> bool:
        with condition:
            return interruptible.wait(condition, 3600)

    thread, results = _in_thread(wait)
    _wait_until_waiting(clock)
    stop.set()
    thread.join(STUCK_SECONDS)

    assert results == [False]
    assert clock.now() == START


def test_an_interruptible_wait_ends_when_its_event_is_set_or_its_time_on_the_clock_passes() -> None:
    clock, stop = ManualClock(START), threading.Event()
    interruptible = InterruptibleClock(stop, clock)
    event = threading.Event()
    thread, results = _in_thread(lambda: interruptible.wait(event, 60))
    _wait_until_waiting(clock)
    event.set()
    thread.join(STUCK_SECONDS)

    later, timed_out = _in_thread(lambda: interruptible.wait(threading.Event(), 60))
    _wait_until_waiting(clock)
    clock.advance(59)
    later.join(0.05)
    assert later.is_alive()
    clock.advance(1)
    later.join(STUCK_SECONDS)

    assert (results, timed_out) == ([True], [False])


def test_a_wait_that_starts_after_the_stop_returns_at_once() -> None:
    stop = threading.Event()
    stop.set()
    interruptible = InterruptibleClock(stop, ManualClock(START))
    assert interruptible.wait(threading.Event(), 3600) is False
    with threading.Condition() as condition:
        assert InterruptibleClock(stop).wait(condition, 3600) is False


def test_a_stop_ends_a_wait_on_the_real_clock_at_once() -> None:
    stop = threading.Event()
    interruptible = InterruptibleClock(stop)
    real = SystemClock()
    thread, results = _in_thread(lambda: interruptible.wait(threading.Event(), 3600))
    started = real.monotonic()
    threading.Timer(0.05, stop.set).start()
    thread.join(STUCK_SECONDS)
    assert results == [False]
    assert real.monotonic() - started < STUCK_SECONDS


def test_a_stepping_clocks_wait_moves_its_manual_clock_by_the_whole_wait() -> None:
    clock = ManualClock(START)
    stepping = SteppingClock(clock)
    event = threading.Event()

    assert stepping.wait(event, 90) is False
    assert clock.now() == START + timedelta(seconds=90)
    event.set()
    assert stepping.wait(event, 90) is True
    assert stepping.monotonic() == 90.0
