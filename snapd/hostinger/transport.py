"""The HTTP layer: one session, verified TLS, pacing, retries for reads, typed errors.

:class:`Transport` sends one API call and returns its decoded JSON, or raises one of the
errors in :mod:`snapd.hostinger.errors`. It knows HTTP, not the API's resources.

Retry rules: only GET is retried, by urllib3 (:class:`PacedRetry`), on connection and
read errors and on 429/500/502/503/504, honouring ``Retry-After``, with exponential
backoff plus jitter, at most ``max_retries`` times and never past ``retry_total_seconds``
after the first attempt. POST and DELETE are sent exactly once: whether to send a side
effect again is the caller's decision, made after looking at the VM's actions.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
import requests.auth
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from snapd.hostinger.answers import IDEMPOTENT_METHODS, Answer, failure_error, interpret
from snapd.hostinger.attempts import CURRENT_CALL, RETRIED_STATUSES, CallContext, PacedRetry, logger
from snapd.hostinger.errors import ApiError, ConnectionFailedError
from snapd.hostinger.observer import ApiObserver
from snapd.ratelimit import BudgetClosedError, RequestBudget

__all__ = ["Transport", "check_base_url"]

# A host that does not answer a TCP handshake within this is down, whatever the read timeout.
_CONNECT_TIMEOUT_CAP = 10.0


class _BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header; given as ``auth`` so requests never consults ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<redacted>)"


def check_base_url(base_url: str) -> str:
    """Validate the API base URL and return it without a trailing slash.

    ``https://`` is always accepted; ``http://`` only for loopback hosts (``localhost``,
    127.0.0.0/8, ``::1``), which is where the embedded fake API listens.

    Raises:
        ValueError: another scheme, no host, credentials, a query or fragment in the URL,
            or plain http to a host that is not loopback.
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"API base URL must be https://host[/path], got {base_url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("API base URL must not carry credentials, a query or a fragment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"API base URL {base_url!r} uses plain http to a host that is not loopback; "
            "the token would cross the network unencrypted. Use https://."
        )
    return base_url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_token(token: str) -> str:
    # requests quotes an invalid header value in its exception text, so reject such a
    # token here with a message that does not contain it.
    if not token or not token.isprintable() or any(ch.isspace() for ch in token):
        raise ValueError("API token is empty or contains whitespace or control characters")
    return token


class Transport:
    """Sends API calls over one ``requests.Session``. Thread-safe.

    Args:
        base_url: see :func:`check_base_url`.
        token: the bearer token; kept only in the session's auth hook.
        timeout: read timeout in seconds; the connect timeout is the smaller of this and 10.
        budget: shared request budget; each HTTP attempt takes one token.
        observer: receives one report per attempt and per retry.
        user_agent: the User-Agent header.
        retry_total_seconds: no GET retry starts later than this after the first attempt.
        backoff_factor: urllib3 backoff factor; also the maximum added jitter.
        max_retries: upper bound on retries of one GET, whatever the time bound.
    """

    def __init__(
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
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.base_url = check_base_url(base_url)
        self._timeout = (min(timeout, _CONNECT_TIMEOUT_CAP), float(timeout))
        self._budget = budget
        self._observer = observer
        self._retry_total_seconds = max(0.0, retry_total_seconds)
        retry = PacedRetry(
            total=max_retries,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=RETRIED_STATUSES,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_factor,
            backoff_max=30.0,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        session = requests.Session()
        session.verify = True
        session.auth = _BearerAuth(_check_token(token))
        session.headers.update(
            {
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": user_agent,
            }
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._session = session

    def request(
        self,
        method: str,
        endpoint: str,
        path: str,
        params: Mapping[str, int] | None = None,
    ) -> Answer:
        """Send one API call and return its 2xx answer.

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
            method=method,
            endpoint=endpoint,
            budget=self._budget,
            observer=self._observer,
            deadline=0.0,
        )
        reset_token = CURRENT_CALL.set(call)
        try:
            try:
                call.start_attempt()
            except BudgetClosedError:
                raise _not_sent(method, endpoint) from None
            started = call.attempt_started
            call.deadline = started + self._retry_total_seconds
            try:
                response = self._session.request(
                    method,
                    self.base_url + path,
                    params=dict(params) if params else None,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except BudgetClosedError:
                raise _not_sent(method, endpoint) from None
            except (requests.RequestException, urllib3.exceptions.HTTPError) as failure:
                call.finish_attempt("error")
                error = failure_error(method, endpoint, failure)
                _log_call(call, None, started, None, error_kind=type(error).__name__)
                # Not chained: the cause holds the prepared request, headers included.
                raise error from None
        finally:
            CURRENT_CALL.reset(reset_token)
        if call.attempt_open:
            # Otherwise PacedRetry.increment already reported this answer: it was a
            # retryable status on which the retries ran out.
            call.finish_attempt(str(response.status_code))
            call.note_answer(response.status_code, response.headers)
        outcome = interpret(method, endpoint, response)
        _log_call(call, response.status_code, started, outcome.correlation_id)
        if isinstance(outcome, ApiError):
            raise outcome
        return outcome

    def close(self) -> None:
        """Close pooled connections. The transport must not be used afterwards."""
        self._session.close()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"


def _not_sent(method: str, endpoint: str) -> ConnectionFailedError:
    """The process is stopping and the request was never sent."""
    return ConnectionFailedError(
        f"{method} {endpoint}: not sent, snapd is stopping",
        endpoint=endpoint,
        method=method,
        reason="stopped",
    )


def _log_call(
    call: CallContext,
    status: int | None,
    started: float,
    correlation_id: str | None,
    error_kind: str | None = None,
) -> None:
    logger().debug(
        "hostinger_request",
        method=call.method,
        endpoint=call.endpoint,
        status=status,
        seconds=round(time.monotonic() - started, 3),
        attempts=call.attempts,
        correlation_id=correlation_id,
        error=error_kind,
    )
