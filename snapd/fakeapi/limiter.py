"""The fake's rate limit: a sliding 60-second window on the fake's clock."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RateDecision:
    """Whether one request may pass, and what the rate-limit headers should say."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int
    reset_at: datetime

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` headers, plus ``Retry-After`` when refused."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
            headers["X-RateLimit-Reset"] = str(int(self.reset_at.timestamp()))
        return headers


class SlidingWindowLimiter:
    """At most ``limit`` requests in any ``window_seconds``; one window for all callers.

    The budget is per account on the real service, so the fake does not split it by
    token. Refused requests do not count: a caller that waits ``Retry-After`` seconds is
    let through again.
    """

    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        if limit < 1:
            raise ValueError(f"the rate limit must be at least 1 request, got {limit}")
        self._limit = limit
        self._window = timedelta(seconds=window_seconds)
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
            wait = math.ceil((reset_at - now).total_seconds())
            return RateDecision(False, self._limit, 0, max(wait, 1), reset_at)
