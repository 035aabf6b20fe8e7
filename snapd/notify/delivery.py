"""Sending notifications: a bounded queue, one worker thread, its own HTTP session.

Nothing here may slow a snapshot down. ``submit`` never blocks (a full queue drops the
notification, logged and counted); the worker sends with short timeouts and a bounded
number of retries with backoff, outside the Hostinger request budget. URLs are secrets:
logs carry only their scheme and host, and never an exception's text (``requests`` puts
the whole URL into it).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests
import structlog

from snapd import __version__
from snapd.backoff import doubling
from snapd.clock import monotonic
from snapd.config.masking import public_url

log = structlog.get_logger("snapd.notify")

#: kind: ping or webhook; result: sent, failed or dropped (the queue was full).
Counter = Callable[[str, str], None]
MAXIMUM_QUEUE = 1000
ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
USER_AGENT = f"snapd/{__version__}"


@dataclass(frozen=True)
class Delivery:
    """One HTTP POST to make; ``event`` is for the log (start, success, failure, ...)."""

    kind: str  # ping | webhook
    event: str
    virtual_machine_id: int | None
    url: str
    body: bytes
    content_type: str
    timeout: float


@dataclass(frozen=True)
class DeliveryResult:
    delivery: Delivery
    ok: bool
    attempts: int
    status: int | None  # the last HTTP status; None when no answer came
    problem: str  # "" when ok; a status or an exception class, never a URL


def _retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


class DeliveryWorker:
    """Owns the queue, the session and the worker thread.

    Args:
        counter: called with (kind, result) for each finished or dropped delivery.
        attempts: tries per delivery (1 = no retry).
        backoff: seconds before the first retry, doubled for each further one.
        maximum_queue: deliveries waiting at most; more are dropped.
    """

    def __init__(
        self,
        counter: Counter | None = None,
        *,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
        maximum_queue: int = MAXIMUM_QUEUE,
    ) -> None:
        self.counter = counter
        self.attempts = attempts
        self.backoff = backoff
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self._queue: queue.Queue[Delivery | None] = queue.Queue(maxsize=maximum_queue)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="snapd-notify", daemon=True)
        self._thread.start()

    def submit(self, delivery: Delivery) -> bool:
        """Queue ``delivery`` without waiting; False (logged, counted) when the queue is full."""
        try:
            self._queue.put_nowait(delivery)
        except queue.Full:
            log.warning(
                "notification_dropped",
                kind=delivery.kind,
                notify_event=delivery.event,
                vm=delivery.virtual_machine_id,
                target=public_url(delivery.url),
                reason="queue_full",
            )
            self._count(delivery.kind, "dropped")
            return False
        return True

    def close(self, timeout: float) -> None:
        """Send what is queued for at most ``timeout`` seconds, then give up on the rest."""
        deadline = monotonic() + timeout
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=max(0.0, timeout))
        self._thread.join(max(0.0, deadline - monotonic()))
        if self._thread.is_alive():
            self._stop.set()  # ends the backoff waits; a request in flight runs out its timeout
            log.warning("notifications_abandoned", waiting=self._queue.qsize())
        self.session.close()

    def send(self, delivery: Delivery) -> DeliveryResult:
        """POST ``delivery`` now, retrying transient failures; log and count the result."""
        status: int | None = None
        problem = ""
        attempt = 0
        for attempt in range(1, self.attempts + 1):
            status, problem = self._post(delivery)
            if not problem or not _retryable(status) or attempt == self.attempts:
                break
            if self._stop.wait(doubling(self.backoff, attempt)):
                break
        result = DeliveryResult(delivery, not problem, attempt, status, problem)
        fields = {
            "kind": delivery.kind,
            "notify_event": delivery.event,
            "vm": delivery.virtual_machine_id,
            "target": public_url(delivery.url),
            "status": status,
            "attempts": attempt,
        }
        if result.ok:
            log.info("notification_sent", **fields)
        else:
            log.warning("notification_failed", problem=problem, **fields)
        self._count(delivery.kind, "sent" if result.ok else "failed")
        return result

    def _post(self, delivery: Delivery) -> tuple[int | None, str]:
        try:
            answer = self.session.post(
                delivery.url,
                data=delivery.body,
                headers={"Content-Type": delivery.content_type},
                timeout=delivery.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            return None, type(error).__name__
        answer.close()
        if 200 <= answer.status_code < 300:
            return answer.status_code, ""
        return answer.status_code, f"HTTP {answer.status_code}"

    def _work(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                self.send(delivery)
            except Exception:  # a notification may fail; the worker may not
                log.exception("notification_crashed", kind=delivery.kind)

    def _count(self, kind: str, result: str) -> None:
        if self.counter is not None:
            self.counter(kind, result)
