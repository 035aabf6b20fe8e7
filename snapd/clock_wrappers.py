"""Clocks built on another clock: one whose waits a stop ends, one whose waits step it.

Neither reads the system's clocks itself: the time and every wait come from the clock
it wraps (:mod:`snapd.clock`), so a manual clock drives them in tests.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from snapd.clock import Clock, ManualClock, SystemClock, Waitable, condition_of

__all__ = ["InterruptibleClock", "SteppingClock"]


class InterruptibleClock:
    """A clock whose waits and sleeps end early when ``stop`` is set.

    The daemon and ``snapd once`` hand this to everything that waits (the pipeline, the
    budget, the inventory), so that SIGTERM does not wait out a pause: the wait returns
    and the caller sees that it should stop. Without ``inner`` it is the real clock;
    with one (a ``ManualClock`` in tests) it tells that clock's time and waits on it.

    A wait takes the target's condition (an event's own, see
    :func:`~snapd.clock.condition_of`) and waits on it through the inner clock; a
    relay thread, started with the first wait, blocks on ``stop`` and notifies every
    condition waited on when it is set. So a stop ends a wait at once, on a real or a
    manual clock alike, without polling.
    """

    def __init__(self, stop: threading.Event, inner: Clock | None = None) -> None:
        self._stop = stop
        self._inner = inner or SystemClock()
        self._real = inner is None
        self._lock = threading.Lock()
        self._waiting: dict[int, threading.Condition] = {}
        self._numbers = itertools.count()
        self._relay: threading.Thread | None = None

    def now(self) -> datetime:
        return self._inner.now()

    def monotonic(self) -> float:
        return self._inner.monotonic()

    def wait(self, target: Waitable, seconds: float) -> bool:
        """The inner clock's wait, ended early by a stop as well; True if ``target`` (an
        event) was set or (a condition, its lock held by the caller) notified first."""
        if isinstance(target, threading.Event):
            return self._wait_for_event(target, seconds)
        if self._stop.is_set():
            return False
        with self._watching(target):
            notified = not self._stop.is_set() and self._inner.wait(target, seconds)
            return notified and not self._stop.is_set()  # the stop's notice is no answer

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` unless stopped; a manual inner clock is advanced (its sleep)."""
        if seconds <= 0:
            return
        if self._real:
            self.wait(self._stop, seconds)
        elif not self._stop.is_set():
            self._inner.sleep(seconds)

    def _wait_for_event(self, event: threading.Event, seconds: float) -> bool:
        condition = condition_of(event)
        end = self._inner.monotonic() + max(seconds, 0.0)
        with self._watching(condition), condition:
            # The event's set() and the relay notify this condition; the clock's end too.
            while not event.is_set() and not self._stop.is_set():
                left = end - self._inner.monotonic()
                if left <= 0:
                    break
                self._inner.wait(condition, left)
            return event.is_set()

    @contextmanager
    def _watching(self, condition: threading.Condition) -> Iterator[None]:
        """Register ``condition`` for the relay while the caller waits on it."""
        with self._lock:
            if self._relay is None:
                self._relay = threading.Thread(
                    target=self._relay_stop, name="clock-stop-relay", daemon=True
                )
                self._relay.start()
            key = next(self._numbers)
            self._waiting[key] = condition
        try:
            yield
        finally:
            with self._lock:
                del self._waiting[key]

    def _relay_stop(self) -> None:
        """Block until the stop, then wake every wait in progress (a wait that starts
        later sees the stop before it waits)."""
        self._stop.wait()
        with self._lock:
            conditions = list(self._waiting.values())
        for condition in conditions:
            with condition:
                condition.notify_all()


class SteppingClock:
    """A manual clock for one thread that drives its own time: a wait that its target
    does not end at once advances the clock by its whole length, as ``sleep`` does.

    The simulation's request budget waits on it: with no other thread to move the time,
    a wait for the next slot must move it itself.
    """

    def __init__(self, inner: ManualClock) -> None:
        self._inner = inner

    def now(self) -> datetime:
        return self._inner.now()

    def monotonic(self) -> float:
        return self._inner.monotonic()

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def wait(self, target: Waitable, seconds: float) -> bool:
        """True at once if ``target`` (an event) is set; else advance ``seconds`` and
        tell whether it is set now (False for a condition: nobody notified it)."""
        if isinstance(target, threading.Event) and target.is_set():
            return True
        self._inner.sleep(seconds)
        return isinstance(target, threading.Event) and target.is_set()
