"""One request through the fake: rate limit, authentication, routing, faults, execution,
request log. Knows nothing about sockets; the HTTP server turns a ``FakeResponse`` into bytes.
"""

from __future__ import annotations

import hmac
import json
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from snapd.clock import Clock, real_sleep
from snapd.fakeapi.controls import FakeState
from snapd.fakeapi.errors import FakeApiError, error_body
from snapd.fakeapi.faults import DEEP_JSON_DEPTH, Fault, FaultInjector
from snapd.fakeapi.limiter import RateLimiter
from snapd.fakeapi.model import Timeline
from snapd.fakeapi.registry import BY_NAME, Call
from snapd.fakeapi.requestlog import RecordedRequest, RequestLog
from snapd.fakeapi.routes import Route, resolve
from snapd.fakeapi.texts import RawJson

# What a mangled answer looks like: cut off in the middle of an object.
MALFORMED_BODY = b'{"id": 8123712, "name": "create_snapshot", "state": '
_NULL_SNAPSHOT = {"id": None, "restore_time": None, "created_at": None, "expires_at": None}


@dataclass(frozen=True)
class _Request:
    """One request as the dispatcher answers it."""

    method: str
    path: str
    query: dict[str, str]
    authorized: bool
    correlation_id: str


@dataclass
class FakeResponse:
    """What to send back. ``body`` ``None`` means: close the connection, send nothing.

    ``streamed_size`` set: send a generated JSON array of that many bytes instead of
    ``body``. ``delivery``: a trickle or hold fault that slows the sending down.
    """

    status: int
    body: bytes | None
    headers: dict[str, str] = field(default_factory=dict)
    streamed_size: int | None = None
    delivery: Fault | None = None


def _json(value: Any) -> bytes:
    return bytes(value) if isinstance(value, RawJson) else json.dumps(value).encode()


class Dispatcher:
    """Answers requests against one ``FakeState``; safe to call from many threads.

    In order: the rate limit (429, not executed), the bearer token (401), the route
    (404, 405), latency faults, status faults (not executed), execution, then faults
    that spoil an executed call's answer. Every request lands in the request log.

    ``no_snapshot_as`` is read on every call, so changing the fake's attribute takes
    effect at once.
    """

    def __init__(  # noqa: PLR0913 - optional collaborators and settings, each with a default
        self,
        *,
        token: str,
        state: FakeState,
        faults: FaultInjector,
        limiter: RateLimiter | None,
        log: RequestLog,
        clock: Clock,
        seed: int,
        action_seconds: float,
        no_snapshot_as: Callable[[], str],
    ) -> None:
        self._expected_authorization = f"Bearer {token}".encode()
        self._state = state
        self._faults = faults
        self._limiter = limiter
        self._log = log
        self._clock = clock
        self._action_seconds = action_seconds
        self._no_snapshot_as = no_snapshot_as
        # Its own generator, so that correlation ids never shift the state's ids.
        self._correlation_random = random.Random(f"correlation-{seed}")
        self._correlation_lock = threading.Lock()

    def dispatch(self, method: str, target: str, authorization: str | None) -> FakeResponse:
        """Answer one request and enter it in the request log."""
        sequence = self._log.arrive()
        arrived_at = self._clock.now()
        split = urlsplit(target)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        authorized = self._is_authorized(authorization)
        correlation_id = self._correlation_id()
        request = _Request(method, path, query, authorized, correlation_id)
        answer = self._answer(request)
        answer.headers.setdefault("X-Correlation-Id", correlation_id)
        # The server's clock, skew included, as the real API's Date header would show it.
        answer.headers["Date"] = formatdate(self._state.server_now().timestamp(), usegmt=True)
        status = answer.status if answer.body is not None else 0
        self._log.record(
            sequence, RecordedRequest(method, path, query, status, arrived_at, authorized)
        )
        return answer

    def _answer(self, request: _Request) -> FakeResponse:
        rate_headers: dict[str, str] = {}
        if self._limiter is not None:
            decision = self._limiter.check(self._clock.now())
            rate_headers = decision.headers()
            if not decision.allowed:
                body = error_body("Too Many Attempts.", request.correlation_id)
                return FakeResponse(429, _json(body), rate_headers)
        answer = self._answer_within_limit(request)
        answer.headers.update(rate_headers)
        return answer

    def _answer_within_limit(self, request: _Request) -> FakeResponse:
        correlation_id = request.correlation_id
        if not request.authorized:
            return FakeResponse(401, _json(error_body("Unauthenticated", correlation_id)))
        try:
            route = resolve(request.method, request.path)
        except FakeApiError as error:
            return FakeResponse(error.status, _json(error.body(correlation_id)), error.headers)
        delay = self._faults.latency(route.endpoint)
        if delay > 0:
            real_sleep(delay)
        before = self._faults.before_execution(route.endpoint)
        if before is not None:
            return self._fault_status(before.status, correlation_id, before.header_items)
        try:
            status, value = self._execute(route, request.query)
            answer = FakeResponse(status, _json(value))
        except FakeApiError as error:
            answer = FakeResponse(error.status, _json(error.body(correlation_id)), error.headers)
        after = self._faults.after_execution(route.endpoint)
        if after is not None:
            answer = self._spoiled(after, correlation_id)
        if answer.body is not None:
            answer.delivery = self._faults.delivery(route.endpoint)
        return answer

    def _spoiled(self, fault: Fault, correlation_id: str) -> FakeResponse:
        """The answer that replaces an executed call's under an after-execution fault."""
        if fault.kind == "accept_then_fail":
            return self._fault_status(500, correlation_id)
        if fault.kind == "accept_then_drop":
            return FakeResponse(0, None)
        if fault.kind == "huge_body":
            return FakeResponse(200, b"", streamed_size=fault.size)
        if fault.kind == "deep_json":
            return FakeResponse(200, b"[" * DEEP_JSON_DEPTH + b"]" * DEEP_JSON_DEPTH)
        return FakeResponse(200, MALFORMED_BODY)

    def _execute(self, route: Route, query: dict[str, str]) -> tuple[int, Any]:
        """Run the call against the state; ``FakeApiError`` for error answers."""
        endpoint = BY_NAME.get(route.endpoint)
        if endpoint is None:
            raise FakeApiError(404, f"Endpoint {route.endpoint} is not served")
        call = Call(
            state=self._state,
            virtual_machine_id=route.virtual_machine_id or 0,
            item_id=route.item_id or 0,
            page=_page(query),
            choose=self._chooser(route.endpoint),
            no_snapshot=self._no_snapshot,
        )
        return endpoint.handle(call)

    def _no_snapshot(self) -> tuple[int, Any]:
        fault = self._faults.no_snapshot()
        shape = fault.no_snapshot_as if fault is not None else self._no_snapshot_as()
        if shape == "null":
            return 200, None
        if shape == "empty":
            return 200, {}
        if shape == "null_fields":
            return 200, dict(_NULL_SNAPSHOT)
        raise FakeApiError(404, "Snapshot not found")

    def _chooser(self, endpoint: str) -> Callable[[], Timeline | None]:
        def choose() -> Timeline | None:
            fault = self._faults.action(endpoint)
            return fault.timeline(self._action_seconds) if fault is not None else None

        return choose

    def _fault_status(
        self, status: int, correlation_id: str, extra: tuple[tuple[str, str], ...] = ()
    ) -> FakeResponse:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "Error"
        headers = {"Retry-After": "1"} if status in (429, 503) else {}
        headers.update(extra)
        # A header given an empty value is left out: a 429 without Retry-After.
        headers = {name: value for name, value in headers.items() if value}
        errors = {"fault": [message]} if status == 422 else None
        return FakeResponse(status, _json(error_body(message, correlation_id, errors)), headers)

    def _is_authorized(self, authorization: str | None) -> bool:
        if authorization is None:
            return False
        scheme, _, credentials = authorization.strip().partition(" ")
        presented = f"Bearer {credentials.strip()}".encode() if scheme.lower() == "bearer" else b""
        return hmac.compare_digest(presented, self._expected_authorization)

    def _correlation_id(self) -> str:
        with self._correlation_lock:
            return str(uuid.UUID(int=self._correlation_random.getrandbits(128), version=4))


def _page(query: dict[str, str]) -> int:
    """The ``page`` query parameter; anything but a positive integer means page 1."""
    try:
        page = int(query.get("page", "1"))
    except ValueError:
        return 1
    return max(page, 1)
