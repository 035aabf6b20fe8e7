"""Sending notifications: one bounded queue and one thread per target.

Nothing here may slow a snapshot down, and no receiver may slow another down. ``submit``
never blocks (a full queue drops the notification, logged and counted); each target (a
ping or webhook URL as configured) has a lane of its own (``snapd.notify.lanes``), so a
receiver that hangs, trickles or is being retried delays only its own notifications. Every
attempt is bounded by its timeout in total and reads at most 64 KiB of the answer
(``snapd.notify.transport``); transient failures are retried a bounded number of times
with backoff, outside the Hostinger request budget. URLs are secrets: logs carry only their
scheme and host, and never an exception's text (``requests`` puts the whole URL into it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from snapd import __version__
from snapd.backoff import doubling
from snapd.clock import Clock, SystemClock
from snapd.config.masking import public_url
from snapd.notify.lanes import Lane
from snapd.notify.transport import Transfer

log = structlog.get_logger("snapd.notify")

#: kind: ping or webhook; result: sent, failed or dropped (queue full, or left at stop).
Counter = Callable[[str, str], None]
#: Deliveries waiting per target at most; more are dropped.
MAXIMUM_QUEUE = 1000
ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
USER_AGENT = f"snapd/{__version__}"
# After the grace of ``close``, the cut requests end within milliseconds; wait no longer.
_ABORT_SECONDS = 0.5


@dataclass(frozen=True)
class Delivery:
    """One HTTP POST to make; ``event`` is for the log (start, success, failure, ...)."""

    kind: str  # ping | webhook
    event: str
    virtual_machine_id: int | None
    url: str
    body: bytes
    content_type: str
    timeout: float  # seconds, for one attempt in total
    #: The target as configured (before ``{vm_id}`` is filled in and the ping's suffix is
    #: added): deliveries of one target share a lane and keep their order. "" = the URL.
    target: str = ""


@dataclass(frozen=True)
class DeliveryResult:
    delivery: Delivery
    ok: bool
    attempts: int
    status: int | None  # the last HTTP status; None when no answer came
    problem: str  # "" when ok; a status, a timeout or an exception class, never a URL


def _retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


class DeliveryWorker:
    """Owns the lanes, one per target, made on first use.

    Args:
        counter: called with (kind, result) for each finished or dropped delivery.
        attempts: tries per delivery (1 = no retry).
        backoff: seconds before the first retry, doubled for each further one.
        maximum_queue: deliveries waiting per target at most; more are dropped.
        clock: what the backoff and the closing deadline are measured on (default: the
            real clock: the requests themselves are real).
    """

    def __init__(
        self,
        counter: Counter | None = None,
        *,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
        maximum_queue: int = MAXIMUM_QUEUE,
        clock: Clock | None = None,
    ) -> None:
        self.counter = counter
        self.clock = clock or SystemClock()
        self.attempts = attempts
        self.backoff = backoff
        self.maximum_queue = maximum_queue
        self._lanes: dict[str, Lane[Delivery]] = {}
        self._transfers: set[Transfer] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()

    def submit(self, delivery: Delivery) -> bool:
        """Queue ``delivery`` on its target's lane without waiting; False (logged, counted
        as dropped) when that lane is full or the worker is closed."""
        destination = public_url(delivery.url)
        key = f"{delivery.kind} {delivery.target or delivery.url}"
        with self._lock:
            lane = None if self._closed else self._lanes.get(key)
            if lane is None and not self._closed:
                name = f"snapd-notify {destination}"  # the key is a secret, the host is not
                lane = self._lanes[key] = Lane(name, self.maximum_queue, self._send)
        if lane is not None and lane.offer(delivery):
            return True
        log.warning(
            "notification_dropped",
            kind=delivery.kind,
            notify_event=delivery.event,
            vm=delivery.virtual_machine_id,
            target=destination,
            reason="stopping" if self._closed else "queue_full",
        )
        self._count(delivery.kind, "dropped")
        return False

    def close(self, timeout: float) -> None:
        """Send what is queued for at most ``timeout`` seconds (every lane at once), then
        cut the requests in flight and drop the rest: logged and counted as dropped."""
        deadline = self.clock.monotonic() + timeout
        with self._lock:
            self._closed = True
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.close()
        if all(lane.join(deadline - self.clock.monotonic()) for lane in lanes):
            return
        # The queues first: a lane whose request is cut must find nothing more to send.
        dropped = [delivery for lane in lanes for delivery in lane.take_pending()]
        self._stop.set()  # ends the backoff waits; no new attempt starts
        with self._lock:
            in_flight = list(self._transfers)
        for transfer in in_flight:
            transfer.abort()
        log.warning("notifications_abandoned", dropped=len(dropped), in_flight=len(in_flight))
        for delivery in dropped:
            self._count(delivery.kind, "dropped")
        cut_off = self.clock.monotonic() + _ABORT_SECONDS
        for lane in lanes:
            lane.join(cut_off - self.clock.monotonic())

    def send(self, delivery: Delivery) -> DeliveryResult:
        """POST ``delivery`` now, retrying transient failures; log and count the result."""
        status: int | None = None
        problem = ""
        attempt = 0
        for attempt in range(1, self.attempts + 1):
            status, problem = self._post(delivery)
            if not problem or not _retryable(status) or attempt == self.attempts:
                break
            if self.clock.wait(self._stop, doubling(self.backoff, attempt)):
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
        transfer = Transfer(USER_AGENT)
        with self._lock:
            self._transfers.add(transfer)
        if self._stop.is_set():
            transfer.abort()
        try:
            return transfer.post(
                delivery.url, delivery.body, delivery.content_type, delivery.timeout
            )
        finally:
            with self._lock:
                self._transfers.discard(transfer)

    def _send(self, delivery: Delivery) -> None:
        try:
            self.send(delivery)
        except Exception:  # a notification may fail; its lane may not
            log.exception("notification_crashed", kind=delivery.kind)

    def _count(self, kind: str, result: str) -> None:
        if self.counter is not None:
            self.counter(kind, result)
