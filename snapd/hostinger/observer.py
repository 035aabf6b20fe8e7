"""The hook through which the client reports each HTTP attempt (for metrics)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

__all__ = ["RETRY_REASONS", "ApiObserver", "NullObserver", "RetryReason"]


class RetryReason(StrEnum):
    """Why the transport tries again: a retried status, or how the attempt failed.

    The values are metric label values; they never change.
    """

    TOO_MANY_REQUESTS = "429"
    INTERNAL_SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    SERVICE_UNAVAILABLE = "503"
    GATEWAY_TIMEOUT = "504"
    #: The connection could not be made: nothing was sent.
    CONNECTION = "connection"
    #: The request went out and no complete answer came back.
    READ = "read"
    #: Anything else (a label value for metrics; the transport does not send it).
    OTHER = "other"


#: Every value ``request_retried`` may receive as ``reason``.
RETRY_REASONS = frozenset(RetryReason)


class ApiObserver(Protocol):
    """Receives one call per HTTP attempt, one per transport retry, and the learned rate.

    ``endpoint`` is always a path template from ``ENDPOINTS``, never a raw URL. Both
    methods are called on the requesting thread, so they must be quick and thread-safe.
    An exception raised by an observer is logged and otherwise ignored.
    """

    def request_finished(self, method: str, endpoint: str, code: str, seconds: float) -> None:
        """One attempt ended. ``code`` is the status as text (``"200"``, ``"429"``), or
        ``"error"`` when no answer arrived. ``seconds`` covers that attempt only, not the
        time spent waiting for the request budget."""
        ...

    def request_retried(self, endpoint: str, reason: str) -> None:
        """The transport is about to try again; ``reason`` is one of ``RETRY_REASONS``."""
        ...

    def budget_changed(self, requests_per_minute: float) -> None:
        """The request budget paces to ``requests_per_minute`` now: lowered after a 429,
        then recovering towards the configured rate (called after each 429 and before
        each request while it recovers)."""
        ...


class NullObserver:
    """An observer that ignores everything."""

    def request_finished(self, method: str, endpoint: str, code: str, seconds: float) -> None:
        return None

    def request_retried(self, endpoint: str, reason: str) -> None:
        return None

    def budget_changed(self, requests_per_minute: float) -> None:
        return None
