"""The API metrics: every HTTP attempt to the Hostinger API, its retries and the budget.

Fed by the client's ``ApiObserver`` calls (one per attempt and per retry) and the request
budget. Label values are bounded: an endpoint outside the known templates, a retry reason
outside the known set or a code that is neither a status nor ``error`` is ``other``.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from snapd.hostinger.endpoints import ENDPOINTS
from snapd.hostinger.observer import RETRY_REASONS

__all__ = ["API_DURATION_BUCKETS", "ApiMetrics"]

#: One HTTP attempt; the client's timeout is 30 s by default.
API_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_KNOWN_ENDPOINTS = frozenset(ENDPOINTS.values())
_OTHER = "other"


class ApiMetrics:
    """Requests, durations, retries, the token's state and the budget's rate; thread-safe."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._lock = threading.Lock()
        self._authentication_ok = True
        self._refused: set[str] = set()  # the accounts whose token was refused last
        self.requests = Counter(
            "snapd_api_requests_total",
            "HTTP attempts to the Hostinger API; code is the status or 'error'.",
            ["method", "endpoint", "code"],
            registry=registry,
        )
        self.duration = Histogram(
            "snapd_api_request_duration_seconds",
            "Seconds per HTTP attempt to the Hostinger API.",
            ["endpoint"],
            buckets=API_DURATION_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "snapd_api_retries_total",
            "Transport retries of Hostinger API requests.",
            ["endpoint", "reason"],
            registry=registry,
        )
        self.authentication = Gauge(
            "snapd_api_authentication_ok",
            "0 after the API refused the token, until a request succeeds again.",
            registry=registry,
        )
        self.authentication.set(1)
        self.budget_rate = Gauge(
            "snapd_api_budget_requests_per_minute",
            "The rate the request budget paces to now: api.requests_per_minute until a 429 "
            "lowers it, then recovering towards it.",
            registry=registry,
        )

    def request_finished(
        self, method: str, endpoint: str, code: str, seconds: float, account: str = ""
    ) -> None:
        """Count one HTTP attempt; a 2xx proves ``account``'s token works, a 401 that it
        does not."""
        endpoint = endpoint if endpoint in _KNOWN_ENDPOINTS else _OTHER
        if not (code == "error" or (len(code) == 3 and code.isdigit())):
            code = _OTHER
        self.requests.labels(method.upper(), endpoint, code).inc()
        self.duration.labels(endpoint).observe(max(seconds, 0.0))
        if code.startswith("2"):
            self.set_authentication(True, account)
        elif code == "401":
            self.set_authentication(False, account)

    def request_retried(self, endpoint: str, reason: str) -> None:
        """Count one transport retry."""
        endpoint = endpoint if endpoint in _KNOWN_ENDPOINTS else _OTHER
        reason = reason if reason in RETRY_REASONS else _OTHER
        self.retries.labels(endpoint, reason).inc()

    def budget_changed(self, requests_per_minute: float) -> None:
        """The request budget's learned rate (also set once at start, to the configured one)."""
        self.budget_rate.set(max(requests_per_minute, 0.0))

    def set_authentication(self, ok: bool, account: str = "") -> None:
        """Whether the API accepts ``account``'s token (the only writer of its gauge,
        which is 0 while any account's token is refused)."""
        with self._lock:
            if ok:
                self._refused.discard(account)
            else:
                self._refused.add(account)
            self._authentication_ok = not self._refused
            self.authentication.set(1 if self._authentication_ok else 0)

    @property
    def authentication_ok(self) -> bool:
        """False from a refused token until the next successful request."""
        with self._lock:
            return self._authentication_ok


class AccountApiObserver:
    """The API observer of one account's client: counts into the shared series, and
    keeps that account's token state apart (another account's 2xx does not clear it)."""

    def __init__(self, api: ApiMetrics, account: str) -> None:
        self.api = api
        self.account = account

    def request_finished(self, method: str, endpoint: str, code: str, seconds: float) -> None:
        self.api.request_finished(method, endpoint, code, seconds, self.account)

    def request_retried(self, endpoint: str, reason: str) -> None:
        self.api.request_retried(endpoint, reason)

    def budget_changed(self, requests_per_minute: float) -> None:
        self.api.budget_changed(requests_per_minute)
