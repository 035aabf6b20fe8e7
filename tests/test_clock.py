"""The clock's waits: a manual clock's wait ends in virtual time, a system clock's wait
ends early when its event is set."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from snapd.clock import ManualClock, SystemClock
from snapd.clock_wrappers import InterruptibleClock

START = datetime(2025, 1, 5, 3, 0, tzinfo=UTC)
# A bound on real time for a thread that should already have finished: never waited out
# when the code is right.
STUCK_SECONDS = 10.0


def _in_thread(work: Callable[[], bool]) -> tuple[threading.Thread, list[bool]]:
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(work()), daemon=True)
    thread.start()
    return thread, results


def _wait_until_waiting(clock: ManualClock, count: int = 1) -> None:
    """Block (briefly, really) until ``count`` waits are registered on ``clock``."""
    done = threading.Event()
    while clock.waiting() < count:
        done.wait(0.001)


def test_a_wait_on_a_manual_clock_returns_false_once_the_clock_is_advanced_past_its_end() -> None:
    clock = ManualClock(START)
    event = threading.Event()
    thread, results = _in_thread(lambda: clock.wait(event, 60))
    _wait_until_waiting(clock)
    clock.advance(59)
    thread.join(0.05)
    assert thread.is_alive()
    clock.advance(1)
    thread.join(STUCK_SECONDS)
    assert results == [False]


def test_a_wait_on_a_manual_clock_returns_true_when_its_event_is_set() -> None:
    clock = ManualClock(START)
    event = threading.Event()
    thread, results = _in_thread(lambda: clock.wait(event, 3600))
    _wait_until_waiting(clock)
    event.set()
    thread.join(STUCK_SECONDS)
    assert results == [True]
    assert clock.now() == START


def test_a_wait_on_a_condition_ends_when_notified_or_when_the_manual_clock_passes_its_end() -> None:
    clock = ManualClock(START)
    condition = threading.Condition()

    def wait() -> bool:
        with condition:
            return clock.wait(condition, 30)

    notified, notified_results = _in_thread(wait)
    _wait_until_waiting(clock)
    with condition:
        condition.notify_all()
    notified.join(STUCK_SECONDS)
    timed_out, timed_out_results = _in_thread(wait)
    _wait_until_waiting(clock)
    clock.sleep(30)
    timed_out.join(STUCK_SECONDS)
    assert (notified_results, timed_out_results) == ([True], [False])


def test_a_manual_clock_wakes_only_the_waits_whose_end_has_passed() -> None:
    clock = ManualClock(START)
    event = threading.Event()
    short, short_results = _in_thread(lambda: clock.wait(event, 10))
    long, long_results = _in_thread(lambda: clock.wait(event, 100))
    _wait_until_waiting(clock, 2)
    clock.set(START.replace(minute=1))
    short.join(STUCK_SECONDS)
    assert short_results == [False]
    assert long.is_alive()
    event.set()
    long.join(STUCK_SECONDS)
    assert long_results == [True]


def test_a_manual_clock_tells_when_the_first_pending_wait_of_a_named_thread_ends() -> None:
    clock = ManualClock(START)
    event = threading.Event()
    assert clock.earliest_wait_end() is None
    later = threading.Thread(target=lambda: clock.wait(event, 100), name="later", daemon=True)
    sooner = threading.Thread(target=lambda: clock.wait(event, 10), name="sooner", daemon=True)
    later.start()
    sooner.start()
    _wait_until_waiting(clock, 2)
    assert clock.earliest_wait_end() == START + timedelta(seconds=10)
    assert clock.earliest_wait_end("later") == START + timedelta(seconds=100)
    assert clock.earliest_wait_end("nobody") is None
    event.set()
    later.join(STUCK_SECONDS)
    sooner.join(STUCK_SECONDS)
    assert clock.earliest_wait_end() is None


def test_a_wait_of_no_time_on_a_manual_clock_tells_whether_the_event_is_set() -> None:
    clock = ManualClock(START)
    event = threading.Event()
    assert clock.wait(event, 0) is False
    event.set()
    assert clock.wait(event, 0) is True


def test_the_manual_clocks_monotonic_seconds_follow_its_virtual_time() -> None:
    clock = ManualClock(START)
    clock.advance(90)
    interrupted = InterruptibleClock(threading.Event(), clock)
    assert (clock.monotonic(), interrupted.monotonic()) == (90.0, 90.0)


def test_a_system_clock_wait_returns_as_soon_as_its_event_is_set() -> None:
    clock = SystemClock()
    event = threading.Event()
    started = clock.monotonic()
    threading.Timer(0.05, event.set).start()
    assert clock.wait(event, 3600) is True
    assert clock.monotonic() - started < STUCK_SECONDS


def test_a_system_clock_wait_returns_false_when_the_time_runs_out() -> None:
    assert SystemClock().wait(threading.Event(), 0.01) is False
