"""The request budget shared by every thread that talks to the Hostinger API.

Hostinger does not publish its rate limit and may block the caller's IP after repeated
violations, so snapd paces itself instead of relying on 429 answers. One
:class:`RequestBudget` is created per process and handed to the API client; every HTTP
attempt (retries included) takes one slot from it first.

The budget hands out slots in time, in the order callers ask (first come, first served):

* the steady pace is ``requests_per_minute`` (as learned, see below), one slot every
  ``60 / rate`` seconds;
* after an idle period up to ``burst`` slots are free at once. The default burst is a
  tenth of the per-minute rate (at least one), not the whole minute: a daemon that starts
  with a catch-up for a fleet must not fire a minute's worth of requests in its first
  second. Over any 60-second window at most ``requests_per_minute + burst`` requests are
  sent, so the configured rate should sit a little below the real limit;
* a caller reserves its slot under the lock and waits once, on the budget's clock, until
  that slot: a request that goes out wakes nobody else, so a thousand waiting threads
  cost one wake-up each. Every wait (the slots', and
  :meth:`RequestBudget.wait_before_retry` for a retry's backoff) is the clock's
  interruptible ``wait`` on the budget's closed event, so :meth:`RequestBudget.close`
  ends it at once and a manual clock drives it;
* a pause (from a 429 ``Retry-After`` or an exhausted ``X-RateLimit-Remaining``) moves
  every reserved slot behind its end, still in order and at the steady pace, so a pause
  is never followed by a burst. One pause lasts at most :data:`MAXIMUM_RATE_LIMIT_PAUSE`:
  a server (or a proxy in front of it) asking for a day must not silence every VM's
  schedule for a day;
* a 429 also teaches the budget (:mod:`snapd.hostinger.learned_rate`): the pace halves,
  and the next slot comes no sooner than one interval of the lowered pace, whatever the
  ``Retry-After`` says. It recovers additively while no 429 arrives, up to the
  configured rate.
"""

from __future__ import annotations

import threading

from snapd.clock import Clock, SystemClock
from snapd.hostinger.learned_rate import LearnedRate, ServerWindow
from snapd.hostinger.waiting_line import WaitingLine

__all__ = ["MAXIMUM_RATE_LIMIT_PAUSE", "BudgetClosedError", "RequestBudget"]

#: Longest pause, in seconds, that one rate-limit answer can impose (5 minutes).
MAXIMUM_RATE_LIMIT_PAUSE = 300.0

# A slot this close to now counts as due: sleeping exactly the computed delay may end a
# hair early after float rounding, or on a clock that counts whole microseconds.
_TOLERANCE = 2e-6


class BudgetClosedError(Exception):
    """The budget was closed (the process is stopping): no more requests may start."""


class RequestBudget:
    """A thread-safe, first-come-first-served pacer with a global pause and a learned rate.

    Args:
        requests_per_minute: configured steady rate, the ceiling of the learned one;
            must be positive.
        clock: tells the monotonic time and waits (default: the real one); each wait
            is ``clock.wait`` on the closed event, so :meth:`close` ends it at once.
        burst: how many slots are free after an idle period; default
            ``max(1, requests_per_minute // 10)``.

    Raises:
        ValueError: for a non-positive rate or burst.
    """

    def __init__(
        self,
        requests_per_minute: float = 60,
        clock: Clock | None = None,
        *,
        burst: int | None = None,
    ) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        capacity = burst if burst is not None else max(1, int(requests_per_minute) // 10)
        if capacity < 1:
            raise ValueError(f"burst must be at least 1, got {capacity}")
        self._learned = LearnedRate(requests_per_minute)
        self._capacity = capacity
        self._interval = 60.0 / requests_per_minute
        self._clock = clock or SystemClock()
        self._monotonic = self._clock.monotonic
        # Every wait ends early when the budget is closed, so that callers queued behind
        # a busy budget give up at once when the process stops.
        self._closed = threading.Event()
        self._lock = threading.Lock()
        now = self._monotonic()
        # The slot the next caller gets unless the burst allows sooner; starts "full".
        self._next_slot = now - self._burst_span()
        self._paused_until = now
        # No second decrease for 429s that answer requests sent before the last one's
        # pause ended: they belong to the same episode.
        self._episode_until = float("-inf")
        self._window = ServerWindow()
        self._waiting = WaitingLine()

    @property
    def requests_per_minute(self) -> float:
        """The configured steady rate (the ceiling of the learned one)."""
        return self._learned.configured

    @property
    def learned_requests_per_minute(self) -> float:
        """The rate this budget paces to now: the configured one until a 429 lowers it."""
        with self._lock:
            return self._learned.at(self._monotonic())

    @property
    def lowered(self) -> bool:
        """True while a 429 keeps the learned rate below the configured one (as of the
        last request; read without the lock, so it may lag by one request)."""
        return self._interval > 60.0 / self._learned.configured

    @property
    def burst(self) -> int:
        """How many requests may go back to back after an idle period."""
        return self._capacity

    def acquire(self) -> float:
        """Block until this caller's slot, in the order callers asked.

        Returns:
            The seconds spent waiting (0.0 when a slot was free).

        Raises:
            BudgetClosedError: the budget is closed, before or while waiting.
        """
        with self._lock:
            self._refuse_if_closed()
            now = self._monotonic()
            slot = self._reserve(now)
            if slot <= now + _TOLERANCE:
                return 0.0
            ticket = self._waiting.join(slot)
        waited = 0.0
        try:
            while True:
                # Wait outside the lock: nobody is blocked behind a waiting caller. Only a
                # pause that arrived meanwhile (it moves the slot) makes this loop again.
                delay = slot - now
                self._clock.wait(self._closed, delay)
                waited += delay
                with self._lock:
                    self._refuse_if_closed()
                    now = self._monotonic()
                    slot = self._waiting.slot(ticket)
                    if slot <= now + _TOLERANCE:
                        return waited
        finally:
            with self._lock:
                self._waiting.leave(ticket)

    def wait_before_retry(self, seconds: float) -> None:
        """Wait ``seconds`` on this budget's clock; the wait ends early when the budget is
        closed, so a retry's backoff does not hold up stopping."""
        if seconds > 0:
            self._clock.wait(self._closed, seconds)

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
        with self._lock:
            self._pause(self._monotonic(), seconds)

    def rate_limited(self, seconds: float, *, reset_seconds: float | None = None) -> None:
        """A 429 arrived that asks to wait ``seconds``: learn, then pause.

        The first 429 of an episode halves the learned rate, or lowers it to a little
        below the server's own rate when the headers reveal it (``reset_seconds``, the
        429's ``X-RateLimit-Reset`` from now, and the window seen by :meth:`observe_limit`).
        The pause lasts ``seconds`` (capped as in :meth:`pause_for`) but at least one
        interval of the lowered rate, so that a server naming too short a
        ``Retry-After`` is not hammered.
        """
        with self._lock:
            now = self._monotonic()
            if now >= self._episode_until:
                server_rate = self._window.rate(now, reset_seconds)
                self._interval = 60.0 / self._learned.decrease(now, server_rate)
            wanted = seconds if seconds > 0 and seconds != float("inf") else 0.0
            self._pause(now, max(wanted, self._interval))
            self._episode_until = max(self._episode_until, self._paused_until)
            self._learned.recover_from(self._paused_until)

    def observe_limit(self, limit: int | None, remaining: int | None) -> None:
        """Feed an accepted answer's ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining``
        (see :meth:`~snapd.hostinger.learned_rate.ServerWindow.observe`)."""
        with self._lock:
            self._window.observe(self._monotonic(), limit, remaining)

    def observe_headers(self, remaining: int | None, reset_seconds: float | None) -> None:
        """Feed the server's ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` values.

        When ``remaining`` is zero (or below), every caller pauses for ``reset_seconds``.
        Without a usable reset time the next free slot is one steady interval away.
        Other values change nothing: the configured pace is already below the limit.
        """
        if remaining is None or remaining > 0:
            return
        if reset_seconds is not None and reset_seconds > 0:
            self.pause_for(reset_seconds)
            return
        with self._lock:
            self._next_slot = max(self._next_slot, self._monotonic() + self._interval)

    def _reserve(self, now: float) -> float:
        """The next slot (never before an idle bucket allows); caller holds the lock."""
        learned = 60.0 / self._learned.at(now)
        if learned != self._interval:
            self._interval = learned  # recovering: only slots reserved from now on follow
        slot = max(self._next_slot, now - self._burst_span())
        self._next_slot = slot + self._interval
        return slot

    def _pause(self, now: float, seconds: float) -> None:
        """Move every reserved slot behind the pause's end; caller holds the lock."""
        until = now + min(seconds, MAXIMUM_RATE_LIMIT_PAUSE)
        if until <= self._paused_until:
            return
        self._paused_until = until
        # One request may go when the pause ends, the rest (in their order) at the pace.
        slot = self._waiting.push_behind(until, self._interval)
        self._next_slot = max(self._next_slot, slot)

    def _burst_span(self) -> float:
        return (self._capacity - 1) * self._interval

    def _refuse_if_closed(self) -> None:
        if self._closed.is_set():
            raise BudgetClosedError("the request budget is closed: snapd is stopping")

    def __repr__(self) -> str:
        return (
            f"RequestBudget(requests_per_minute={self.requests_per_minute:g}, burst={self.burst})"
        )
