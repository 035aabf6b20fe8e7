"""The fake's rate limits, on the fake's clock: a sliding 60-second window, or a fixed
window counted as Laravel's throttle middleware counts it.

The API's description says only that limits exist, that a 429 answers a request beyond
them, that rate-limit headers come with the answers and that repeated violations may
block the caller's address. Its answers look like Laravel's (``{"message": "Too Many
Attempts."}``), whose throttle middleware keeps a fixed window per key: the window opens
at the first request, counts up to the limit, and resets when it expires. Every answer
carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``; a 429 adds ``Retry-After``
(seconds until the window resets) and ``X-RateLimit-Reset`` (that moment, Unix time).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class RateDecision:
    """Whether one request may pass, and what the rate-limit headers should say."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: float
    reset_at: datetime

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` headers, plus ``Retry-After`` and the reset when refused."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = f"{self.retry_after_seconds:g}"
            headers["X-RateLimit-Reset"] = str(int(self.reset_at.timestamp()))
        return headers


class RateLimiter(Protocol):
    """Counts requests; thread-safe."""

    def check(self, now: datetime) -> RateDecision:
        """Count a request arriving at ``now`` if the limit allows it."""
        ...


def _refused(
    limit: int, reset_at: datetime, now: datetime, retry_after: float | None
) -> RateDecision:
    """A 429's decision: ``Retry-After`` is the whole seconds until ``reset_at`` (at least
    one), unless ``retry_after`` says what to claim instead (a server that lies)."""
    honest = max(math.ceil((reset_at - now).total_seconds()), 1)
    return RateDecision(False, limit, 0, honest if retry_after is None else retry_after, reset_at)


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"the rate limit must be at least 1 request, got {limit}")


class SlidingWindowLimiter:
    """At most ``limit`` requests in any ``window_seconds``; one window for all callers.

    The budget is per account on the real service, so the fake does not split it by
    token. Refused requests do not count: a caller that waits ``Retry-After`` seconds is
    let through again. ``retry_after`` replaces the ``Retry-After`` value of a 429.
    """

    def __init__(
        self, limit: int, window_seconds: float = 60.0, *, retry_after: float | None = None
    ) -> None:
        _check_limit(limit)
        self._limit = limit
        self._window = timedelta(seconds=window_seconds)
        self._retry_after = retry_after
        self._accepted: deque[datetime] = deque()
        self._lock = threading.Lock()

    def check(self, now: datetime) -> RateDecision:
        """Count a request arriving at ``now`` if the window has room."""
        with self._lock:
            while self._accepted and self._accepted[0] <= now - self._window:
                self._accepted.popleft()
            if len(self._accepted) < self._limit:
                self._accepted.append(now)
                oldest = self._accepted[0]
                remaining = self._limit - len(self._accepted)
                return RateDecision(True, self._limit, remaining, 0, oldest + self._window)
            reset_at = self._accepted[0] + self._window
            return _refused(self._limit, reset_at, now, self._retry_after)


class FixedWindowLimiter:
    """``limit`` requests per window of ``window_seconds`` that opens at the first request
    and resets when it expires (Laravel's throttle). Refused requests do not count.
    ``retry_after`` replaces the ``Retry-After`` value of a 429."""

    def __init__(
        self, limit: int, window_seconds: float, *, retry_after: float | None = None
    ) -> None:
        _check_limit(limit)
        if not window_seconds > 0:
            raise ValueError(f"the rate-limit window must be positive, got {window_seconds}")
        self._limit = limit
        self._window = timedelta(seconds=window_seconds)
        self._retry_after = retry_after
        self._opened: datetime | None = None
        self._count = 0
        self._lock = threading.Lock()

    def check(self, now: datetime) -> RateDecision:
        """Count a request arriving at ``now`` if its window has room."""
        with self._lock:
            if self._opened is None or now >= self._opened + self._window:
                self._opened, self._count = now, 0
            reset_at = self._opened + self._window
            if self._count < self._limit:
                self._count += 1
                return RateDecision(True, self._limit, self._limit - self._count, 0, reset_at)
            return _refused(self._limit, reset_at, now, self._retry_after)


def make_limiter(
    requests_per_minute: int | None,
    fixed_window: tuple[int, float] | None,
    retry_after: float | None,
) -> RateLimiter | None:
    """The limiter the arguments ask for; ``ValueError`` for a contradictory choice."""
    if retry_after is not None and not retry_after >= 0:
        raise ValueError(f"retry_after must not be negative, got {retry_after}")
    if requests_per_minute is not None and fixed_window is not None:
        raise ValueError("choose requests_per_minute or fixed_window, not both")
    if fixed_window is not None:
        limit, window_seconds = fixed_window
        return FixedWindowLimiter(limit, window_seconds, retry_after=retry_after)
    if requests_per_minute is not None:
        return SlidingWindowLimiter(requests_per_minute, retry_after=retry_after)
    if retry_after is not None:
        raise ValueError("retry_after needs a rate limit (requests_per_minute or fixed_window)")
    return None
