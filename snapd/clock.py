"""Time as an injectable object, and the only module that reads the system's clocks.

Everything below the CLI and the scheduler receives a ``Clock`` instead of calling
``datetime.now()`` or ``time.sleep()``, so that tests can run hours of virtual time in
milliseconds and assert on exact timestamps. Where a real clock is the default (deadlines
of a request, a hook, a stop), the default is one of the functions below, so that
``tests/test_no_direct_time.py`` can hold every other module to the rule.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

Waitable = threading.Event | threading.Condition
"""What a clock can wait on: an event (set) or a condition (notified, its lock held)."""


def utc_now() -> datetime:
    """The real wall time, aware, in UTC."""
    return datetime.now(UTC)


def monotonic() -> float:
    """Seconds of the real monotonic clock: for deadlines that must not jump."""
    return time.monotonic()


def monotonic_microseconds() -> int:
    """``CLOCK_MONOTONIC`` in microseconds, as systemd's ``MONOTONIC_USEC`` wants it."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def unix_time() -> float:
    """The real Unix time in seconds (to read ``Retry-After`` dates and reset stamps)."""
    return time.time()


def real_sleep(seconds: float) -> None:
    """Really wait ``seconds`` (the fake API's latency faults)."""
    time.sleep(seconds)


def utc_text(moment: datetime, *, whole_seconds: bool = False) -> str:
    """``2025-01-05T03:00:00Z``: how snapd writes an instant in output, logs and hooks."""
    utc = moment.astimezone(UTC)
    if whole_seconds:
        utc = utc.replace(microsecond=0)
    return utc.isoformat().replace("+00:00", "Z")


class Clock(Protocol):
    """The source of wall time and the way to wait."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (or pretend to)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps back: for intervals and deadlines."""
        ...

    def wait(self, target: Waitable, seconds: float) -> bool:
        """Wait until ``target`` is set (an event) or notified (a condition, whose lock
        the caller holds) or ``seconds`` have passed on this clock; True if it was set
        or notified first. A condition's wait may also wake early, as ``Condition.wait``
        does: callers re-check what they wait for."""
        ...


def sleep_before(clock: Clock, deadline: datetime, seconds: float) -> bool:
    """Sleep ``seconds`` on ``clock`` if that ends by ``deadline``; False (no sleep) if not.

    How a retry loop keeps to its deadline: it never starts a wait it could not finish.
    """
    if clock.now() + timedelta(seconds=seconds) > deadline:
        return False
    clock.sleep(seconds)
    return True


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, target: Waitable, seconds: float) -> bool:
        return target.wait(max(seconds, 0.0))


class _Waiter:
    """One wait on a ``ManualClock``: its virtual end, condition to notify, thread's name."""

    def __init__(self, end: datetime, condition: threading.Condition) -> None:
        self.end = end
        self.condition = condition
        self.thread_name = threading.current_thread().name
        self.expired = False


def condition_of(event: threading.Event) -> threading.Condition:
    """The condition an event notifies when it is set (to wait on it with a clock)."""
    # CPython's Event is a flag guarded by a Condition (``_cond``), notified by set():
    # waiting on that condition lets the clock wake the waiter without polling.
    condition: threading.Condition = vars(event)["_cond"]
    return condition


class ManualClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly.

    Thread-safe. Meant for tests and benchmarks: the fake API and the pipeline can share
    one instance, so an action that "takes" ten minutes completes as soon as the pipeline
    has slept ten virtual minutes.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._start = self._now
        self._lock = threading.Lock()
        self._waiters: list[_Waiter] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))
        # Let other threads run, as a real sleep would.
        time.sleep(0)

    def monotonic(self) -> float:
        """Virtual seconds since the clock's start."""
        with self._lock:
            return (self._now - self._start).total_seconds()

    def wait(self, target: Waitable, seconds: float) -> bool:
        """Block until ``target`` is set/notified, or until the clock is advanced (by
        another thread, or a sleep) to ``seconds`` past now. No real-time timeout."""
        if isinstance(target, threading.Event):
            event: threading.Event | None = target
            condition = condition_of(target)
        else:
            event, condition = None, target
        with self._lock:
            waiter = _Waiter(self._now + timedelta(seconds=max(seconds, 0.0)), condition)
            waiter.expired = seconds <= 0
            if not waiter.expired:
                self._waiters.append(waiter)
        try:
            if event is None:
                if waiter.expired:
                    return False
                condition.wait()
                return not waiter.expired
            with condition:
                # expired is marked before the clock takes the condition to notify, and
                # read here under it: an advance between the two cannot be missed.
                while not event.is_set() and not waiter.expired:
                    condition.wait()
                return event.is_set()
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def waiting(self) -> int:
        """How many waits are pending on this clock (for a test to know a loop sleeps)."""
        with self._lock:
            return len(self._waiters)

    def earliest_wait_end(self, thread_name: str | None = None) -> datetime | None:
        """When the first pending wait (of the threads named ``thread_name``) ends; None if none."""
        with self._lock:
            ends = [one.end for one in self._waiters if thread_name in (None, one.thread_name)]
        return min(ends, default=None)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``; waits that end by then return."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
        self._wake_expired()

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware); time never goes backwards."""
        with self._lock:
            target = moment.astimezone(UTC)
            if target > self._now:
                self._now = target
        self._wake_expired()

    def _wake_expired(self) -> None:
        """Notify the waits whose end has passed (outside the clock's lock, so that a
        waiter holding its condition can still read the time)."""
        with self._lock:
            expired = [waiter for waiter in self._waiters if waiter.end <= self._now]
            for waiter in expired:
                waiter.expired = True
                self._waiters.remove(waiter)
        for waiter in expired:
            with waiter.condition:
                waiter.condition.notify_all()
