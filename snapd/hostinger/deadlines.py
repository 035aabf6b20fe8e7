"""A client's attempt deadlines on one thread, instead of a timer thread per HTTP attempt.

A fleet pass sends thousands of requests; a ``threading.Timer`` each would start (and
switch to) a thread per request. :class:`DeadlineTimers` keeps the deadlines in a heap
and one daemon thread runs each callback when its time comes, unless it was cancelled.
Callbacks must be short: they run one after another on that thread.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from snapd.clock import Clock, SystemClock

log = structlog.get_logger("snapd.client")


@dataclass(order=True)
class Deadline:
    """One scheduled callback; :meth:`cancel` before it fires and it never does."""

    due: float
    number: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True  # dropped when it comes up: no search through the heap


class DeadlineTimers:
    """Runs callbacks at their deadlines from one thread, started on first use and ended
    by :meth:`stop`. ``clock`` (default: the system's) tells the time and waits; the
    sockets these deadlines cut live in real time, so a client keeps the default."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._heap: list[Deadline] = []
        self._numbers = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def schedule(self, seconds: float, callback: Callable[[], None]) -> Deadline:
        """Run ``callback`` ``seconds`` from now, on the timers' thread."""
        deadline = Deadline(self._clock.monotonic() + seconds, next(self._numbers), callback)
        with self._changed:
            if self._stopped:
                deadline.cancel()
                return deadline
            heapq.heappush(self._heap, deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="snapd-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0] is deadline:
                self._changed.notify()
        return deadline

    def stop(self) -> None:
        """End the thread; deadlines not yet come never fire, later ones neither."""
        with self._changed:
            self._stopped = True
            self._heap.clear()
            self._changed.notify()

    def pending(self) -> int:
        """Deadlines not yet come (cancelled ones included until they come up)."""
        with self._changed:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopped and (
                    not self._heap or self._heap[0].due > self._clock.monotonic()
                ):
                    if self._heap:
                        self._clock.wait(self._changed, self._heap[0].due - self._clock.monotonic())
                    else:
                        self._changed.wait()
                if self._stopped:
                    return
                deadline = heapq.heappop(self._heap)
            if not deadline.cancelled:
                try:
                    deadline.callback()
                except Exception:  # one bad callback must not end every later deadline
                    log.exception("deadline_callback_failed")
