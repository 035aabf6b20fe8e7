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
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))
        # Let other threads run, as a real sleep would.
        time.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware); time never goes backwards."""
        with self._lock:
            target = moment.astimezone(UTC)
            if target > self._now:
                self._now = target


class InterruptibleClock:
    """A clock whose ``sleep`` ends early when ``stop`` is set.

    The daemon hands this to the pipeline so that SIGTERM does not wait out a minute-long
    poll interval: the wait returns, the pipeline sees that it should stop, and the
    pending action stays recorded for the next start. Without ``inner`` it is the real
    clock; with one (a ``ManualClock`` in tests) it tells that clock's time and sleeps on
    it, unless a stop was asked.
    """

    def __init__(self, stop: threading.Event, inner: Clock | None = None) -> None:
        self._stop = stop
        self._inner = inner or SystemClock()
        self._real = inner is None

    def now(self) -> datetime:
        return self._inner.now()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._real:
            self._stop.wait(seconds)
        elif not self._stop.is_set():
            self._inner.sleep(seconds)
