"""The request budget shared by every thread that talks to the Hostinger API.

Hostinger does not publish its rate limit and may block the caller's IP after repeated
violations, so snapd paces itself instead of relying on 429 answers. One
:class:`RequestBudget` is created per process and handed to the API client; every HTTP
attempt (retries included) takes one token from it first.

The budget is a token bucket:

* it refills at ``requests_per_minute / 60`` tokens per second;
* it holds at most ``burst`` tokens and starts full. The default burst is a tenth of the
  per-minute rate (at least one), not the whole minute: a daemon that starts with a
  catch-up for a fleet must not fire a minute's worth of requests in its first second.
  Over any 60-second window at most ``requests_per_minute + burst`` requests are sent, so
  the configured rate should sit a little below the real limit;
* a pause (from a 429 ``Retry-After`` or an exhausted ``X-RateLimit-Remaining``) stops
  every caller until it ends. Tokens do not accrue during a pause and only one request
  may go at once when it ends, so a pause is never followed by a burst. One pause lasts
  at most :data:`MAXIMUM_RATE_LIMIT_PAUSE`: a server (or a proxy in front of it) asking
  for a day must not silence every VM's schedule for a day.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from snapd.clock import monotonic

__all__ = ["MAXIMUM_RATE_LIMIT_PAUSE", "BudgetClosedError", "RequestBudget"]

#: Longest pause, in seconds, that one rate-limit answer can impose (5 minutes).
MAXIMUM_RATE_LIMIT_PAUSE = 300.0


class BudgetClosedError(Exception):
    """The budget was closed (the process is stopping): no more requests may start."""


class RequestBudget:
    """A thread-safe token bucket with a global pause.

    Args:
        requests_per_minute: steady rate; must be positive.
        clock: monotonic seconds (default :func:`snapd.clock.monotonic`).
        sleep: how to wait (default :func:`time.sleep`). Tests pass a function that
            advances a fake clock instead.
        burst: bucket capacity; default ``max(1, requests_per_minute // 10)``.

    Raises:
        ValueError: for a non-positive rate or burst.
    """

    def __init__(
        self,
        requests_per_minute: float = 60,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        *,
        burst: int | None = None,
    ) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        capacity = burst if burst is not None else max(1, int(requests_per_minute) // 10)
        if capacity < 1:
            raise ValueError(f"burst must be at least 1, got {capacity}")
        self._rate = requests_per_minute / 60.0
        self._capacity = float(capacity)
        self._clock = clock or monotonic
        self._closed = threading.Event()
        # The default wait ends early when the budget is closed, so that callers queued
        # behind a busy budget give up at once when the process stops.
        self._sleep = sleep or self._closed.wait
        self._lock = threading.Lock()
        now = self._clock()
        self._tokens = self._capacity
        self._refilled_at = now
        self._paused_until = now

    @property
    def requests_per_minute(self) -> float:
        """The steady rate this budget paces to."""
        return self._rate * 60.0

    @property
    def burst(self) -> int:
        """How many requests may go back to back after an idle period."""
        return int(self._capacity)

    def acquire(self) -> float:
        """Block until one request may be sent, and take its token.

        Returns:
            The seconds spent waiting (0.0 when a token was ready).

        Raises:
            BudgetClosedError: the budget is closed, before or while waiting.
        """
        waited = 0.0
        while True:
            if self._closed.is_set():
                raise BudgetClosedError("the request budget is closed: snapd is stopping")
            with self._lock:
                delay = self._take_or_delay()
            if delay <= 0:
                return waited
            # Sleep outside the lock so that pause_for and observe_headers are never
            # blocked behind a waiting caller; the loop re-checks after waking because
            # another thread may have taken the token or extended a pause meanwhile.
            self._sleep(delay)
            waited += delay

    def wait(self, seconds: float) -> None:
        """Wait ``seconds`` with this budget's sleeper; by default the wait ends early when
        the budget is closed, so a retry backoff does not hold up stopping."""
        if seconds > 0:
            self._sleep(seconds)

    def close(self) -> None:
        """Refuse every request from now on and wake everyone waiting (to stop)."""
        self._closed.set()

    def pause_for(self, seconds: float) -> None:
        """Stop every caller for ``seconds`` from now (a 429 answer).

        ``seconds`` is capped at :data:`MAXIMUM_RATE_LIMIT_PAUSE`. A shorter pause never
        shortens a longer one already in force. Non-positive or non-finite values are
        ignored.
        """
        if not seconds > 0 or seconds == float("inf"):
            return
        seconds = min(seconds, MAXIMUM_RATE_LIMIT_PAUSE)
        with self._lock:
            until = self._clock() + seconds
            if until > self._paused_until:
                self._paused_until = until
                # One request may go when the pause ends, the rest at the steady rate.
                self._tokens = 1.0
                self._refilled_at = until

    def observe_headers(self, remaining: int | None, reset_seconds: float | None) -> None:
        """Feed the server's ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` values.

        When ``remaining`` is zero (or below), every caller pauses for ``reset_seconds``.
        Without a usable reset time the bucket is emptied instead, so the next request
        waits one steady interval. Other values change nothing: the configured pace is
        already below the limit.
        """
        if remaining is None or remaining > 0:
            return
        if reset_seconds is not None and reset_seconds > 0:
            self.pause_for(reset_seconds)
            return
        with self._lock:
            self._refill(self._clock())
            self._tokens = 0.0

    def _take_or_delay(self) -> float:
        """Take a token and return 0, or return how long to wait. Caller holds the lock."""
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until - now
        self._refill(now)
        # The tolerance absorbs float rounding after sleeping exactly the computed delay.
        if self._tokens >= 1.0 - 1e-9:
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def _refill(self, now: float) -> None:
        elapsed = now - self._refilled_at
        if elapsed > 0:
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._refilled_at = now

    def __repr__(self) -> str:
        return (
            f"RequestBudget(requests_per_minute={self.requests_per_minute:g}, burst={self.burst})"
        )
