"""The rate the request budget has learned from 429 answers: additive increase,
multiplicative decrease (AIMD), as TCP's congestion control.

Hostinger does not publish its limit, and a server may name a ``Retry-After`` far shorter
than its window really needs (a window of 30 requests a minute answering
``Retry-After: 1``). Obeying such a hint alone ends in a storm of 429s, each of which
brings the caller's address closer to a block. So every 429 that starts a new episode
halves the pace, down to a floor, and each minute without one (counted from the end of
the pause it imposed) gives back a share of the configured rate, never more than the
configured rate itself. When the server's ``X-RateLimit-*`` headers reveal its window
(:class:`ServerWindow`), a 429 lowers the rate only to a little below what that window
allows.

Pure arithmetic on a caller's monotonic clock; :class:`~snapd.hostinger.budget.RequestBudget`
holds the lock.
"""

from __future__ import annotations

__all__ = [
    "DECREASE_FACTOR",
    "MINIMUM_REQUESTS_PER_MINUTE",
    "RECOVERY_SHARE_PER_MINUTE",
    "SERVER_RATE_SHARE",
    "LearnedRate",
    "ServerWindow",
]

#: A 429 multiplies the learned rate by this.
DECREASE_FACTOR = 0.5

#: The learned rate never falls below this (or below the configured rate, if lower).
MINIMUM_REQUESTS_PER_MINUTE = 1.0

#: The share of the server's own rate (as its headers reveal it) a 429 lowers the rate to.
#: The revealed rate is already an underestimate (the reset is read in whole seconds and
#: rounded against us), so a 5 % margin keeps pace and window apart without wasting more.
SERVER_RATE_SHARE = 0.95

#: Each minute without a 429 adds this share of the configured rate back.
RECOVERY_SHARE_PER_MINUTE = 0.1


class LearnedRate:
    """The pace to keep now, between a floor and the configured ``requests_per_minute``.

    Not thread-safe: the budget calls it under its lock.
    """

    def __init__(
        self,
        requests_per_minute: float,
        *,
        decrease_factor: float = DECREASE_FACTOR,
        minimum: float = MINIMUM_REQUESTS_PER_MINUTE,
        recovery_share: float = RECOVERY_SHARE_PER_MINUTE,
    ) -> None:
        if not 0 < decrease_factor < 1:
            raise ValueError(f"decrease_factor must lie between 0 and 1, got {decrease_factor}")
        if recovery_share <= 0:
            raise ValueError(f"recovery_share must be positive, got {recovery_share}")
        self.configured = float(requests_per_minute)
        self.minimum = min(minimum, self.configured)
        self._decrease_factor = decrease_factor
        self._recovery_per_second = recovery_share * self.configured / 60.0
        self._lowered_to = self.configured
        self._lowered_at = 0.0

    def at(self, now: float) -> float:
        """Requests per minute to keep at monotonic time ``now``."""
        if self._lowered_to >= self.configured:
            return self.configured
        recovered = self._lowered_to + self._recovery_per_second * max(0.0, now - self._lowered_at)
        if recovered >= self.configured:
            self._lowered_to = self.configured  # fully recovered: no more arithmetic per call
            return self.configured
        return recovered

    def decrease(self, now: float, server_rate: float | None = None) -> float:
        """A 429 arrived at ``now``: lower the rate and return the new one.

        ``server_rate`` (requests per minute), when the server's headers tell it, bounds
        the cut: the rate falls to :data:`SERVER_RATE_SHARE` of it if that is gentler than
        halving, and not at all if the server allows more than the current rate (the
        429 then came from a burst, which the pause already answers).
        """
        current = self.at(now)
        lowered = current * self._decrease_factor
        if server_rate is not None:
            lowered = max(lowered, min(current, server_rate * SERVER_RATE_SHARE))
        self._lowered_to = max(self.minimum, lowered)
        self._lowered_at = now
        return self._lowered_to

    def recover_from(self, moment: float) -> None:
        """Start the recovery at ``moment`` (the end of the pause the 429 imposed): time
        spent paused is not time without a 429."""
        self._lowered_at = max(self._lowered_at, moment)


class ServerWindow:
    """The server's rate-limit window as its headers show it. Not thread-safe either."""

    def __init__(self) -> None:
        self._opened: float | None = None
        self._limit = 0

    def observe(self, now: float, limit: int | None, remaining: int | None) -> None:
        """An accepted answer at ``now``: the one that leaves ``limit - 1`` opened the
        window (Laravel's fixed window, or the first request in an empty sliding one)."""
        if limit is not None and remaining is not None and limit >= 1 and remaining == limit - 1:
            self._opened, self._limit = now, limit

    def rate(self, now: float, reset_seconds: float | None) -> float | None:
        """Requests per minute the server allows: ``limit`` from the window's opening to
        its reset, ``reset_seconds`` after ``now``. The reset is a whole-second timestamp,
        so a second is added: the estimate errs low. ``None`` when unknown."""
        if reset_seconds is None or self._opened is None:
            return None
        window = now + reset_seconds + 1.0 - self._opened
        return self._limit * 60.0 / window if window > 0 else None
