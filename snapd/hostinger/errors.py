"""Typed errors raised by the Hostinger API client.

Every error carries the method, the endpoint *template* (ids left out, so errors and
metrics group by operation), the HTTP status when an answer arrived, and the server's
``correlation_id`` when it sent one. Messages are built by the client from bounded parts
and the server's ``message`` field; they never include the underlying library exception's
text or the request headers, so the API token cannot leak through ``str()`` or ``repr()``.

Which error means what for the caller:

* :class:`AuthenticationError` - the token is wrong or lacks rights; retrying will not help.
* :class:`NotFoundError` - the virtual machine or action does not exist.
* :class:`BusyError` - a create/delete/restore was refused because the VM is busy (409/422).
* :class:`RateLimitedError` - 429; the request was not executed.
* :class:`ServerError` - 5xx on a read, after the transport's retries.
* :class:`ConnectionFailedError` - no answer, and the request is known to have had no
  effect: it never left this host, or it was a read.
* :class:`AmbiguousRequestError` - a create/delete/restore was sent and no usable answer
  came back; the action may or may not exist. Look at the VM's actions before posting again.
* :class:`InvalidResponseError` - a read's answer was unusable: over 1 MiB, not UTF-8,
  not JSON, nested too deeply, or not the shape the API documents.
* :class:`UnreadableSnapshotError` - the snapshot read's answer was unusable: neither a
  snapshot nor one of the empty shapes that mean "no snapshot". Its age is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

__all__ = [
    "AmbiguousRequestError",
    "ApiError",
    "AuthenticationError",
    "BusyError",
    "ConnectionFailedError",
    "FailureReason",
    "InvalidResponseError",
    "NotFoundError",
    "RateLimitedError",
    "ServerError",
    "UnreadableSnapshotError",
]


class FailureReason(StrEnum):
    """Why a request got no usable answer (``reason`` of the errors below).

    The values are what logs and alerts show; they never change.
    """

    #: The connection could not be made: nothing was sent.
    CONNECTION = "connection"
    #: The server's TLS certificate or host name was not trusted: nothing was sent.
    CERTIFICATE = "certificate"
    #: The request went out, and no complete answer came back in time, or none at all.
    READ = "read"
    #: The request budget was closed: the process is stopping.
    STOPPED = "stopped"
    #: A 5xx answer to a request that changes something.
    STATUS = "status"
    #: An answer came, but it is unusable.
    RESPONSE = "response"


class ApiError(Exception):
    """Base class of every error the client raises about an API call.

    Attributes:
        message: the server's ``message`` field, or the client's own description when the
            server sent none (or sent nothing at all).
        endpoint: the path template, e.g. ``/api/vps/v1/virtual-machines/{virtualMachineId}``.
        method: the HTTP method, upper case.
        status: the HTTP status code, or ``None`` when no answer arrived.
        correlation_id: the server's request id, to quote to Hostinger support.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        method: str = "GET",
        status: int | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.method = method
        self.status = status
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        answer = f"HTTP {self.status}" if self.status is not None else "no answer"
        text = f"{self.method} {self.endpoint}: {answer}: {self.message}"
        if self.correlation_id:
            text += f" (correlation_id {self.correlation_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, endpoint={self.endpoint!r}, "
            f"method={self.method!r}, status={self.status!r}, "
            f"correlation_id={self.correlation_id!r})"
        )


class AuthenticationError(ApiError):
    """401 or 403: the token was refused. Never retried."""


class NotFoundError(ApiError):
    """404: the resource does not exist (or is not visible to this token)."""


class BusyError(ApiError):
    """409 or 422 on create, delete or restore: the VM cannot take the action now.

    Attributes:
        errors: the body's ``errors`` object (field name to list of messages), possibly empty.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        method: str = "POST",
        status: int | None = None,
        correlation_id: str | None = None,
        errors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(
            message, endpoint=endpoint, method=method, status=status, correlation_id=correlation_id
        )
        self.errors: dict[str, list[str]] = {
            str(field): [str(text) for text in texts] for field, texts in (errors or {}).items()
        }


class RateLimitedError(ApiError):
    """429 that the transport did not (or could not) wait out; the request was not executed.

    Attributes:
        retry_after: seconds the server asked to wait (``Retry-After`` in seconds or as an
            HTTP date), capped at five minutes (``MAXIMUM_RATE_LIMIT_PAUSE``); ``None``
            when it did not say.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        method: str = "GET",
        status: int | None = 429,
        correlation_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, endpoint=endpoint, method=method, status=status, correlation_id=correlation_id
        )
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx answer to a read (GET) after the transport's retries ran out."""


class ConnectionFailedError(ApiError):
    """No answer, and the request certainly had no effect.

    Either the connection could not be made (refused, DNS, TLS, connect timeout) so
    nothing was sent, or the request was a read. Safe to try again later.

    Attributes:
        reason: ``"connection"`` (nothing was sent), ``"certificate"`` (nothing was
            sent: the server's TLS certificate or host name was not trusted; never
            retried), ``"read"`` (a read got no complete
            answer in time, or none at all) or ``"stopped"`` (the request budget was
            closed: the process is stopping).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        method: str = "GET",
        reason: FailureReason = FailureReason.CONNECTION,
    ) -> None:
        super().__init__(message, endpoint=endpoint, method=method)
        self.reason = reason


class AmbiguousRequestError(ApiError):
    """A create, delete or restore was sent and no usable answer came back.

    The server may have started the action. Causes: no complete answer within the total
    deadline, the connection dropped after the request was sent, a 5xx answer (``status``
    is set then), or a 2xx answer whose body cannot be used (over 1 MiB, not UTF-8, not
    JSON, nested too deeply, not an action). The caller must look at the VM's recent
    actions before sending the request again.

    Attributes:
        reason: ``"read"`` (deadline passed or connection dropped), ``"status"`` (5xx
            answer) or ``"response"`` (accepted, but the answer is unusable).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        method: str = "POST",
        status: int | None = None,
        correlation_id: str | None = None,
        reason: FailureReason = FailureReason.READ,
    ) -> None:
        super().__init__(
            message, endpoint=endpoint, method=method, status=status, correlation_id=correlation_id
        )
        self.reason = reason


class InvalidResponseError(ApiError):
    """A read's answer was unusable: over 1 MiB, not UTF-8, not JSON, nested too deeply,
    or not the shape the API documents. Not retried: the same answer would come back."""


class UnreadableSnapshotError(InvalidResponseError):
    """The answer to a snapshot read was neither a snapshot nor "no snapshot".

    A caller must not take it for either: whatever the VM holds may be a young snapshot
    that the age guards protect."""
