"""Per-call bookkeeping for the transport's retry loop: pacing, reports, backoff.

Every HTTP attempt of an API call takes one token from the shared request budget first
(:meth:`CallContext.start_attempt`), is reported to the observer exactly once when it
ends (:meth:`CallContext.finish_attempt`), and feeds the rate-limit headers of its answer
to the budget (:meth:`CallContext.note_answer`). What a ``Retry-After`` (or a
``X-RateLimit-Reset``) may impose is capped at
:data:`~snapd.hostinger.budget.MAXIMUM_RATE_LIMIT_PAUSE`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import structlog
from urllib3.exceptions import ConnectTimeoutError, ProxyError, SSLError

from snapd.backoff import doubling
from snapd.clock import unix_time
from snapd.hostinger.budget import MAXIMUM_RATE_LIMIT_PAUSE, RequestBudget
from snapd.hostinger.observer import ApiObserver, RetryReason

__all__ = [
    "DEFAULT_RATE_LIMIT_PAUSE",
    "MAXIMUM_BACKOFF",
    "RETRIED_STATUSES",
    "RETRY_AFTER_STATUSES",
    "CallContext",
    "backoff_seconds",
    "is_connect_failure",
    "logger",
    "retry_after_seconds",
]

#: Statuses a GET is retried on. 501 and other 5xx are not expected to heal by waiting.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Statuses whose ``Retry-After`` says when to try again.
RETRY_AFTER_STATUSES = frozenset({429, 503})

#: Pause applied to the whole budget after a 429 that names no ``Retry-After``.
DEFAULT_RATE_LIMIT_PAUSE = 5.0

#: Longest backoff between two retries of one read, before jitter.
MAXIMUM_BACKOFF = 30.0

# Seconds values above this are Unix timestamps, not durations (about 30 years).
_EPOCH_THRESHOLD = 1e9


def logger() -> structlog.typing.FilteringBoundLogger:
    """The client's structlog logger.

    Looked up per use rather than at import: a logger cached on first use would bypass
    a later ``structlog.testing.capture_logs()`` or reconfiguration.
    """
    bound: structlog.typing.FilteringBoundLogger = structlog.get_logger("snapd.hostinger")
    return bound


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def retry_after_seconds(
    headers: Mapping[str, str], wall_clock: Callable[[], float] = unix_time
) -> float | None:
    """Read ``Retry-After`` (seconds or an HTTP date) as seconds from now.

    The result is capped at :data:`~snapd.hostinger.budget.MAXIMUM_RATE_LIMIT_PAUSE`, so that a
    server asking for a day cannot freeze snapd for a day; a date in the past gives 0.
    ``None`` when the header is absent or unreadable (an odd header must not fail a read).
    """
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    text = raw.strip()
    seconds: float
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = max(0.0, moment.timestamp() - wall_clock())
    return min(seconds, MAXIMUM_RATE_LIMIT_PAUSE)


def backoff_seconds(retry_number: int, factor: float) -> float:
    """The pause before retry ``retry_number`` (from 1): ``factor * 2**(n-1)``, capped at
    :data:`MAXIMUM_BACKOFF`, plus a random jitter of up to ``factor``."""
    exponential = doubling(factor, retry_number)
    return min(MAXIMUM_BACKOFF, exponential) + random.uniform(0.0, factor)


@dataclass(slots=True)
class CallContext:
    """One API call in progress: its attempts, their timing and their reports."""

    method: str
    endpoint: str
    budget: RequestBudget
    observer: ApiObserver
    monotonic: Callable[[], float]
    wall_clock: Callable[[], float] = unix_time
    attempt_started: float = 0.0
    attempt_open: bool = False
    attempts: int = 0

    def start_attempt(self) -> None:
        """Take a budget token (blocking), then start timing the attempt.

        Raises:
            BudgetClosedError: the budget is closed; the attempt was not started.
        """
        self.budget.acquire()
        if self.budget.lowered:
            self._report_budget()  # recovering: the gauge follows the learned rate
        self.attempt_started = self.monotonic()
        self.attempt_open = True
        self.attempts += 1

    def finish_attempt(self, code: str) -> None:
        """Report the attempt in progress to the observer, once."""
        if not self.attempt_open:
            return
        self.attempt_open = False
        seconds = self.monotonic() - self.attempt_started
        try:
            self.observer.request_finished(self.method, self.endpoint, code, seconds)
        except Exception:
            logger().warning("hostinger_observer_failed", hook="request_finished", exc_info=True)

    def note_answer(self, status: int, headers: Mapping[str, str]) -> None:
        """Feed an answer's rate-limit signals to the shared budget."""
        remaining = _header_number(headers, "X-RateLimit-Remaining")
        reset = _header_number(headers, "X-RateLimit-Reset")
        if reset is not None and reset > _EPOCH_THRESHOLD:
            reset -= self.wall_clock()
        if reset is not None:
            reset = min(reset, MAXIMUM_RATE_LIMIT_PAUSE)
        remaining_count = None if remaining is None else int(remaining)
        limit = _header_number(headers, "X-RateLimit-Limit")
        if status != 429:  # a refused request opens no window
            self.budget.observe_limit(None if limit is None else int(limit), remaining_count)
        self.budget.observe_headers(remaining_count, reset)
        if status == 429:
            pause = retry_after_seconds(headers, self.wall_clock)
            # Also lowers the learned rate: a server's hint alone may be too short.
            self.budget.rate_limited(
                pause if pause else DEFAULT_RATE_LIMIT_PAUSE, reset_seconds=reset
            )
            self._report_budget()

    def _report_budget(self) -> None:
        try:
            self.observer.budget_changed(self.budget.learned_requests_per_minute)
        except Exception:
            logger().warning("hostinger_observer_failed", hook="budget_changed", exc_info=True)

    def note_retry(self, reason: RetryReason, status: int | None) -> None:
        """Report and log a retry the transport is about to make."""
        logger().warning(
            "hostinger_request_retry",
            method=self.method,
            endpoint=self.endpoint,
            reason=reason.value,
            status=status,
            attempt=self.attempts,
        )
        try:
            self.observer.request_retried(self.endpoint, reason)
        except Exception:
            logger().warning("hostinger_observer_failed", hook="request_retried", exc_info=True)

    def log_end(
        self,
        status: int | None,
        started: float,
        correlation_id: str | None,
        now: float,
        error_kind: str | None = None,
    ) -> None:
        """Log the call's end at debug level: its status, duration and attempts."""
        logger().debug(
            "hostinger_request",
            method=self.method,
            endpoint=self.endpoint,
            status=status,
            seconds=round(now - started, 3),
            attempts=self.attempts,
            correlation_id=correlation_id,
            error=error_kind,
        )


def is_connect_failure(error: BaseException) -> bool:
    """True for urllib3 errors raised before the request left this host.

    Refused or unreachable connections, DNS failures and connect timeouts
    (``NewConnectionError`` is a ``ConnectTimeoutError``), TLS handshake failures and
    proxy failures. Everything else - read timeouts, resets after sending - may have
    reached the server.
    """
    return isinstance(error, (ConnectTimeoutError, SSLError, ProxyError))
