"""How an HTTP outcome becomes a result or a typed error.

Pure functions over a :class:`~snapd.hostinger.exchange.Reply` or an exception; no I/O,
no state. Which error a
status or failure maps to depends on whether the method is idempotent: a GET that got no
answer is harmless, a POST that got no answer may have started an action.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from requests.exceptions import ConnectTimeout, InvalidURL, MissingSchema, ReadTimeout
from urllib3.exceptions import MaxRetryError

from snapd.hostinger.errors import (
    AmbiguousRequestError,
    ApiError,
    AuthenticationError,
    BusyError,
    ConnectionFailedError,
    FailureReason,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from snapd.hostinger.exchange import MAXIMUM_BODY_BYTES, Reply
from snapd.hostinger.retries import is_connect_failure, retry_after_seconds

__all__ = ["IDEMPOTENT_METHODS", "Answer", "deadline_error", "failure_error", "interpret"]

#: Methods the transport may send more than once.
IDEMPOTENT_METHODS = frozenset({"GET"})

_MESSAGE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful (2xx) answer: decoded JSON body (``None`` when empty) and its ids."""

    status: int
    body: Any
    correlation_id: str | None


def _root_cause(failure: BaseException) -> BaseException:
    """The urllib3 error inside a requests exception, when there is one."""
    cause = failure
    for _ in range(4):
        inner = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        if isinstance(cause, MaxRetryError) and cause.reason is not None:
            inner = cause.reason
        if inner is None:
            break
        cause = inner
    return cause


def failure_error(method: str, endpoint: str, failure: Exception) -> ApiError:
    """Translate a request that got no answer into a typed error.

    The error names the failure's class but never carries its text: requests' exceptions
    may hold the prepared request, and with it the Authorization header.
    """
    root = _root_cause(failure)
    if isinstance(root, ssl.CertificateError):
        # A certificate that is not trusted today will not be trusted in a minute either.
        detail = getattr(root, "verify_message", None) or type(root).__name__
        return ConnectionFailedError(
            f"the API's TLS certificate was not trusted: {detail}; the request was not sent",
            endpoint=endpoint,
            method=method,
            reason=FailureReason.CERTIFICATE,
        )
    nothing_sent = isinstance(failure, (ConnectTimeout, InvalidURL, MissingSchema)) or (
        not isinstance(failure, ReadTimeout) and is_connect_failure(root)
    )
    what = type(root).__name__
    if nothing_sent:
        return ConnectionFailedError(
            f"could not connect ({what}); the request was not sent",
            endpoint=endpoint,
            method=method,
            reason=FailureReason.CONNECTION,
        )
    if method in IDEMPOTENT_METHODS:
        return ConnectionFailedError(
            f"no answer ({what})", endpoint=endpoint, method=method, reason=FailureReason.READ
        )
    return AmbiguousRequestError(
        f"request sent but no answer came back ({what}); the action may or may not exist",
        endpoint=endpoint,
        method=method,
        reason=FailureReason.READ,
    )


def deadline_error(method: str, endpoint: str, seconds: float) -> ApiError:
    """The attempt was sent but no complete answer arrived within its total deadline."""
    what = f"no complete answer within {seconds:g} s"
    if method in IDEMPOTENT_METHODS:
        return ConnectionFailedError(
            what, endpoint=endpoint, method=method, reason=FailureReason.READ
        )
    return AmbiguousRequestError(
        f"request sent but {what}; the action may or may not exist",
        endpoint=endpoint,
        method=method,
        reason=FailureReason.READ,
    )


def not_sent_error(method: str, endpoint: str) -> ConnectionFailedError:
    """The process is stopping and the request was never sent."""
    return ConnectionFailedError(
        f"{method} {endpoint}: not sent, snapd is stopping",
        endpoint=endpoint,
        method=method,
        reason=FailureReason.STOPPED,
    )


class _Unreadable(Exception):
    """The body could not be decoded; the text says why, without quoting the body."""


def _decode(content: bytes | None) -> Any:
    """Decoded JSON body, ``None`` for an empty body; raises :class:`_Unreadable`."""
    if content is None:
        raise _Unreadable(f"answer is larger than {MAXIMUM_BODY_BYTES} bytes")
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except RecursionError:
        raise _Unreadable("answer is JSON nested too deeply to read") from None
    except UnicodeDecodeError:
        raise _Unreadable("answer is not valid UTF-8") from None
    except ValueError:
        raise _Unreadable("answer is not valid JSON") from None


def interpret(method: str, endpoint: str, reply: Reply) -> Answer | ApiError:
    """Return the answer for a 2xx reply, else the error to raise for it.

    401/403 authentication, 404 not found, 429 rate limited, 409/422 on POST or DELETE
    busy, 5xx server error on GET and ambiguous on POST/DELETE, anything else
    :class:`ApiError`. An unreadable 2xx body (not JSON, not UTF-8, nested too deeply,
    over the size cap) is invalid on GET and ambiguous otherwise.
    """
    status = reply.status
    header_correlation = reply.headers.get("X-Correlation-Id")
    if 200 <= status < 300:
        try:
            body = _decode(reply.content)
        except _Unreadable as problem:
            return _unreadable(method, endpoint, status, header_correlation, str(problem))
        correlation_id = header_correlation
        if isinstance(body, dict) and isinstance(body.get("correlation_id"), str):
            correlation_id = body["correlation_id"]
        return Answer(status=status, body=body, correlation_id=correlation_id)
    try:
        body = _decode(reply.content)
    except _Unreadable:
        body = None
    fields: Mapping[str, Any] = body if isinstance(body, dict) else {}
    raw_message = fields.get("message")
    message = str(raw_message)[:_MESSAGE_LIMIT] if raw_message else "no error message given"
    correlation = fields.get("correlation_id")
    common: dict[str, Any] = {
        "endpoint": endpoint,
        "method": method,
        "status": status,
        "correlation_id": str(correlation) if correlation else header_correlation,
    }
    if status in (401, 403):
        return AuthenticationError(message, **common)
    if status == 404:
        return NotFoundError(message, **common)
    if status == 429:
        return RateLimitedError(message, retry_after=retry_after_seconds(reply.headers), **common)
    if status in (409, 422) and method not in IDEMPOTENT_METHODS:
        errors = fields.get("errors")
        return BusyError(message, errors=errors if isinstance(errors, dict) else None, **common)
    if status >= 500:
        if method in IDEMPOTENT_METHODS:
            return ServerError(message, **common)
        return AmbiguousRequestError(message, reason=FailureReason.STATUS, **common)
    return ApiError(message, **common)


def _unreadable(
    method: str, endpoint: str, status: int, correlation_id: str | None, problem: str
) -> InvalidResponseError | AmbiguousRequestError:
    if method in IDEMPOTENT_METHODS:
        return InvalidResponseError(
            problem,
            endpoint=endpoint,
            method=method,
            status=status,
            correlation_id=correlation_id,
        )
    # The server accepted the request, so the action probably exists; the caller must
    # treat it like any other answer it could not read.
    return AmbiguousRequestError(
        f"request accepted but {problem}; the action may exist",
        endpoint=endpoint,
        method=method,
        status=status,
        correlation_id=correlation_id,
        reason=FailureReason.RESPONSE,
    )
