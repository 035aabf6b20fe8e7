"""The HTTP layer: one session, verified TLS, pacing, retries for reads, typed errors.

:class:`Transport` sends one API call and returns its decoded JSON, or raises one of the
errors in :mod:`snapd.hostinger.errors`. It knows HTTP, not the API's resources.

Every HTTP attempt ends within ``timeout`` seconds in total, whatever the server does
(see :mod:`snapd.hostinger.exchange`), and reads at most 1 MiB of body.

Retry rules: only GET is retried, by the loop in :meth:`Transport.request`, on connection
and read errors (a missed deadline included; an untrusted TLS certificate or host name
never: it will not heal) and on 429/500/502/503/504, honouring
``Retry-After`` on 429/503 (capped at five minutes), with exponential backoff plus
jitter otherwise, at most ``max_retries`` times and never starting a retry later than
``retry_total_seconds`` after the first attempt. POST and DELETE are sent exactly once:
whether to send a side effect again is the caller's decision, made after looking at the
VM's actions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from snapd.clock import Clock, SystemClock
from snapd.hostinger.access import check_base_url
from snapd.hostinger.answers import (
    IDEMPOTENT_METHODS,
    Answer,
    deadline_error,
    failure_error,
    interpret,
    not_sent_error,
)
from snapd.hostinger.budget import BudgetClosedError, RequestBudget
from snapd.hostinger.connections import Connections, ConnectionSource
from snapd.hostinger.deadlines import DeadlineTimers
from snapd.hostinger.errors import ApiError, FailureReason
from snapd.hostinger.exchange import DeadlineExceededError, Line, Reply, exchange
from snapd.hostinger.observer import ApiObserver, RetryReason
from snapd.hostinger.retries import (
    RETRIED_STATUSES,
    RETRY_AFTER_STATUSES,
    CallContext,
    backoff_seconds,
    retry_after_seconds,
)
from snapd.hostinger.serverclock import ServerClock
from snapd.hostinger.session import build_session

__all__ = ["Transport", "check_base_url"]

# A host that does not answer a TCP handshake within this is down, whatever the read timeout.
_CONNECT_TIMEOUT_CAP = 10.0


@dataclass(frozen=True, slots=True)
class _Attempt:
    """How one attempt ended: its result or error, and why it may be retried."""

    outcome: Answer | ApiError
    status: int | None
    retry_reason: RetryReason | None
    retry_after: float | None = None


class Transport:
    """Sends API calls over one ``requests.Session``. Thread-safe.

    Args:
        base_url: see :func:`check_base_url`.
        token: the bearer token; kept only in the session's auth hook.
        timeout: total seconds one HTTP attempt may take, from sending the request to the
            last byte of the answer; the connect timeout is the smaller of this and 10.
        budget: shared request budget; each HTTP attempt takes one token.
        observer: receives one report per attempt and per retry.
        user_agent: the User-Agent header.
        retry_total_seconds: no GET retry starts later than this after the first attempt.
        backoff_factor: exponential backoff base between read retries; also the maximum
            added jitter.
        max_retries: upper bound on retries of one GET, whatever the time bound.
        connection_retry_seconds: no retry of a GET whose connection could not be made
            (refused, unreachable) starts later than this after the first attempt; a
            command line sets a few seconds, so that an operator is not held for minutes.
        clock: the local clock whose ``now`` is compared with the API's ``Retry-After``
            dates and ``Date`` header (default: the real one).
        connections: where attempts get a connection (default: real sockets of its own).

    The waits between retries are the budget's
    (:meth:`RequestBudget.wait_before_retry`): they go on its clock, and closing the
    budget ends them. An attempt's deadline and the retry
    time bound are measured on the real monotonic clock: they bound real sockets.
    """

    def __init__(  # noqa: PLR0913 - optional collaborators and settings, each with a default
        self,
        *,
        base_url: str,
        token: str,
        timeout: float,
        budget: RequestBudget,
        observer: ApiObserver,
        user_agent: str,
        retry_total_seconds: float,
        backoff_factor: float,
        max_retries: int = 10,
        connection_retry_seconds: float | None = None,
        clock: Clock | None = None,
        connections: ConnectionSource | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.base_url = check_base_url(base_url)
        self._connect_seconds = min(timeout, _CONNECT_TIMEOUT_CAP)
        self._attempt_seconds = float(timeout)
        self._budget = budget
        self._observer = observer
        self._retry_total_seconds = max(0.0, retry_total_seconds)
        self._backoff_factor = max(0.0, backoff_factor)
        self._max_retries = max(0, max_retries)
        limit = connection_retry_seconds
        self._connection_retry_seconds = max(0.0, retry_total_seconds if limit is None else limit)
        self._monotonic = SystemClock().monotonic
        local = clock or SystemClock()
        self._wall_clock: Callable[[], float] = lambda: local.now().timestamp()
        self.server_clock = ServerClock()
        self._session = build_session(self.base_url, token, user_agent)
        # The connections and the deadline keeper are this transport's own: close() ends both.
        own = connections or Connections(self._session.verify)
        self._line = Line(own, DeadlineTimers(), self._session.proxies)

    def request(
        self,
        method: str,
        endpoint: str,
        path: str,
        params: Mapping[str, int] | None = None,
    ) -> Answer:
        """Send one API call (retrying a GET as described above) and return its 2xx answer.

        Args:
            method: ``GET``, ``POST`` or ``DELETE``.
            endpoint: the path template, for metrics, logs and errors.
            path: the concrete path, appended to the base URL.
            params: query parameters.

        Raises:
            ApiError: one of its subclasses, as described in :mod:`snapd.hostinger.errors`.
        """
        method = method.upper()
        call = CallContext(
            method, endpoint, self._budget, self._observer, self._monotonic, self._wall_clock
        )
        started: float | None = None
        while True:
            try:
                call.start_attempt()
            except BudgetClosedError:
                raise not_sent_error(method, endpoint) from None
            if started is None:
                started = call.attempt_started
            attempt = self._attempt(call, path, params)
            wait = self._retry_wait(call, attempt, started)
            if wait is None:
                break
            assert attempt.retry_reason is not None
            call.note_retry(attempt.retry_reason, attempt.status)
            self._budget.wait_before_retry(wait)
        outcome = attempt.outcome
        correlation_id = outcome.correlation_id
        error_kind = type(outcome).__name__ if attempt.status is None else None
        call.log_end(attempt.status, started, correlation_id, self._monotonic(), error_kind)
        if isinstance(outcome, ApiError):
            raise outcome
        return outcome

    def _attempt(self, call: CallContext, path: str, params: Mapping[str, int] | None) -> _Attempt:
        """Make one HTTP attempt, report it, and say whether it is worth retrying."""
        method, endpoint = call.method, call.endpoint
        try:
            prepared = self._session.prepare_request(
                requests.Request(method, self.base_url + path, params=dict(params or {}))
            )
            reply = exchange(
                self._line,
                prepared,
                connect_seconds=self._connect_seconds,
                total_seconds=self._attempt_seconds,
                monotonic=self._monotonic,
                wall_clock=self._wall_clock,
            )
        except DeadlineExceededError:
            call.finish_attempt("error")
            return _Attempt(
                deadline_error(method, endpoint, self._attempt_seconds), None, RetryReason.READ
            )
        except Exception as failure:
            # requests, urllib3, http.client and the socket layer each have their own
            # exception families; whatever escapes them becomes the client's own error.
            call.finish_attempt("error")
            # Not chained: the cause holds the prepared request, headers included.
            error = failure_error(method, endpoint, failure)
            reason = getattr(error, "reason", FailureReason.READ)
            if reason == FailureReason.CERTIFICATE:
                return _Attempt(error, None, None)
            if reason == FailureReason.CONNECTION:
                return _Attempt(error, None, RetryReason.CONNECTION)
            return _Attempt(error, None, RetryReason.READ)
        call.finish_attempt(str(reply.status))
        call.note_answer(reply.status, reply.headers)
        self.server_clock.observe(reply.headers, reply.received_at)
        return _Attempt(
            interpret(method, endpoint, reply),
            reply.status,
            RetryReason(str(reply.status)) if reply.status in RETRIED_STATUSES else None,
            _retry_after(reply, self._wall_clock),
        )

    def _retry_wait(self, call: CallContext, attempt: _Attempt, started: float) -> float | None:
        """Seconds to wait before retrying, or ``None`` when the call ends here."""
        if attempt.retry_reason is None or call.method not in IDEMPOTENT_METHODS:
            return None
        retries_done = call.attempts - 1
        if retries_done >= self._max_retries:
            return None
        # A Retry-After of 0 means "now"; the backoff still spaces the attempts out.
        wait = attempt.retry_after or backoff_seconds(retries_done + 1, self._backoff_factor)
        total = self._retry_total_seconds
        if attempt.retry_reason == RetryReason.CONNECTION:
            total = min(total, self._connection_retry_seconds)
        if self._monotonic() + wait > started + total:
            return None
        return wait

    def close(self) -> None:
        """Close the connections, stop the deadline keeper; the transport is then unusable."""
        self._line.connections.close()
        self._line.timers.stop()
        self._session.close()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"


def _retry_after(reply: Reply, wall_clock: Callable[[], float]) -> float | None:
    if reply.status not in RETRY_AFTER_STATUSES:
        return None
    return retry_after_seconds(reply.headers, wall_clock)
