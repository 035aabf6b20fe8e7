"""Per-call bookkeeping and the urllib3 ``Retry`` policy that paces and reports attempts.

urllib3 runs its retry loop inside a single ``Session.request`` call, out of the client's
sight. To make every actual HTTP attempt take a token from the shared request budget and
reach the observer, the transport publishes a :class:`CallContext` in a context variable
for the duration of the call, and :class:`PacedRetry` uses it:

* the first attempt takes its token in the transport, before the session is called;
* ``PacedRetry.increment`` (urllib3 calls it after every failed attempt) reports the
  finished attempt, feeds rate-limit headers to the budget, and decides whether to go on;
* ``PacedRetry.sleep`` (called before every retry) waits out the backoff or
  ``Retry-After`` and then takes a budget token for the next attempt.

A context variable rather than per-request ``Retry`` objects because requests' adapter
hands the same configured ``Retry`` to every request; urllib3 runs in the calling thread,
so each thread sees its own call.

Time bound: besides the attempt count, retrying stops when the next attempt would start
after ``CallContext.deadline`` (call start + ``retry_total_seconds``), counting the
planned backoff or ``Retry-After``. A 429 whose ``Retry-After`` reaches past the deadline
is therefore returned to the client at once (as ``RateLimitedError``) instead of blocking.
"""

from __future__ import annotations

import contextvars
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import structlog
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    ProxyError,
    ResponseError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from snapd.hostinger.observer import ApiObserver
from snapd.ratelimit import RequestBudget

__all__ = [
    "CURRENT_CALL",
    "RETRIED_STATUSES",
    "CallContext",
    "PacedRetry",
    "is_connect_failure",
    "logger",
    "retry_after_seconds",
]

#: Statuses a GET is retried on. 501 and other 5xx are not expected to heal by waiting.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Pause applied to the whole budget after a 429 that names no ``Retry-After``.
DEFAULT_RATE_LIMIT_PAUSE = 5.0

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


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Read ``Retry-After`` (seconds or an HTTP date) as seconds from now; ``None`` if absent."""
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return Retry().parse_retry_after(raw)
    except InvalidHeader:  # an unreadable header is the same as none
        return None


@dataclass(slots=True)
class CallContext:
    """What the retry policy needs to know about the API call in progress."""

    method: str
    endpoint: str
    budget: RequestBudget
    observer: ApiObserver
    deadline: float
    wall_clock: Callable[[], float] = time.time
    attempt_started: float = 0.0
    attempt_open: bool = False
    attempts: int = 0

    def start_attempt(self) -> None:
        """Take a budget token (blocking), then start timing the attempt."""
        self.budget.acquire()
        self.attempt_started = time.monotonic()
        self.attempt_open = True
        self.attempts += 1

    def finish_attempt(self, code: str) -> None:
        """Report the attempt in progress to the observer, once."""
        if not self.attempt_open:
            return
        self.attempt_open = False
        seconds = time.monotonic() - self.attempt_started
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
        self.budget.observe_headers(None if remaining is None else int(remaining), reset)
        if status == 429:
            pause = retry_after_seconds(headers)
            self.budget.pause_for(pause if pause else DEFAULT_RATE_LIMIT_PAUSE)

    def note_retry(self, reason: str, status: int | None) -> None:
        """Report and log a retry the transport is about to make."""
        logger().warning(
            "hostinger_request_retry",
            method=self.method,
            endpoint=self.endpoint,
            reason=reason,
            status=status,
            attempt=self.attempts,
        )
        try:
            self.observer.request_retried(self.endpoint, reason)
        except Exception:
            logger().warning("hostinger_observer_failed", hook="request_retried", exc_info=True)


#: The call in progress on this thread, set by the transport around ``Session.request``.
CURRENT_CALL: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "snapd_hostinger_call", default=None
)


def is_connect_failure(error: BaseException) -> bool:
    """True for urllib3 errors raised before the request left this host.

    Refused or unreachable connections, DNS failures and connect timeouts
    (``NewConnectionError`` is a ``ConnectTimeoutError``), TLS handshake failures and
    proxy failures. Everything else - read timeouts, resets after sending - may have
    reached the server.
    """
    return isinstance(error, (ConnectTimeoutError, SSLError, ProxyError))


def _retry_reason(response: BaseHTTPResponse | None, error: Exception | None) -> str:
    if error is not None:
        return "connection" if is_connect_failure(error) else "read"
    if response is not None and response.status in RETRIED_STATUSES:
        return str(response.status)
    return "other"


class PacedRetry(Retry):
    """``Retry`` that paces attempts through the budget, reports them, and bounds time.

    Only methods in ``allowed_methods`` are ever retried, for any cause: unlike plain
    urllib3, a connection error on a POST or DELETE is not retried either, so that the
    decision to send a side effect again always belongs to the caller.
    """

    # 413 is not an answer this API gives for the small requests snapd sends.
    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        call = CURRENT_CALL.get()
        if call is not None:
            call.finish_attempt("error" if response is None else str(response.status))
            if response is not None:
                call.note_answer(response.status, response.headers)
        if error is not None and (method is None or not self._is_method_retryable(method)):
            raise MaxRetryError(_pool, url or "", error) from error  # type: ignore[arg-type]
        next_retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if call is not None:
            if time.monotonic() + next_retry._planned_wait(response) > call.deadline:
                reason = error or ResponseError("retry time limit reached")
                raise MaxRetryError(_pool, url or "", reason)  # type: ignore[arg-type]
            call.note_retry(
                _retry_reason(response, error), None if response is None else response.status
            )
        return next_retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        super().sleep(response)
        call = CURRENT_CALL.get()
        if call is not None:
            call.start_attempt()

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        # urllib3 raises on an unreadable Retry-After; an odd header must not fail a read.
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def _planned_wait(self, response: BaseHTTPResponse | None) -> float:
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after:
                return retry_after
        # Upper bound of get_backoff_time(), which adds a random jitter.
        attempts = len(self.history)
        if attempts <= 1:
            return 0.0
        backoff = float(self.backoff_factor) * 2.0 ** (attempts - 1) + float(self.backoff_jitter)
        return min(float(self.backoff_max), backoff)
