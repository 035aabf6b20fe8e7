"""Attempt deadlines on one thread: they fire in order, a cancelled one never fires, and a
thousand attempts start no thread of their own."""

from __future__ import annotations

import threading

import structlog

from snapd.hostinger.deadlines import DeadlineTimers


def test_deadlines_fire_in_their_order_and_a_cancelled_one_never_does() -> None:
    timers = DeadlineTimers()
    fired: list[str] = []
    last = threading.Event()
    timers.schedule(0.06, lambda: fired.append("late"))
    cancelled = timers.schedule(0.02, lambda: fired.append("cancelled"))
    timers.schedule(0.01, lambda: fired.append("early"))
    timers.schedule(0.08, last.set)
    cancelled.cancel()
    assert last.wait(5)
    assert fired == ["early", "late"]
    assert timers.pending() == 0


def test_a_thousand_deadlines_share_one_thread() -> None:
    timers = DeadlineTimers()
    before = threading.active_count()
    deadlines = [timers.schedule(60.0, lambda: None) for _ in range(1000)]
    assert threading.active_count() == before + 1
    for deadline in deadlines:
        deadline.cancel()


def test_an_earlier_deadline_wakes_the_thread_from_a_later_one() -> None:
    timers = DeadlineTimers()
    timers.schedule(3600.0, lambda: None)
    soon = threading.Event()
    timers.schedule(0.01, soon.set)
    assert soon.wait(5)


def test_a_callback_that_fails_does_not_stop_later_deadlines() -> None:
    timers = DeadlineTimers()

    def broken() -> None:
        raise RuntimeError("a defect in one watchdog")

    later = threading.Event()
    with structlog.testing.capture_logs() as logs:
        timers.schedule(0.0, broken)
        timers.schedule(0.01, later.set)
        assert later.wait(5)
    assert [line["event"] for line in logs] == ["deadline_callback_failed"]
