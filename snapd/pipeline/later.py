"""A result that one thread starts and another may finish: how a slot outlives its worker.

A slot's pre-flight and send run on a worker; the wait for the action is the poller's;
verify and record run on a worker again. :class:`Later` carries the slot across those
hands: ``then`` adds the next step, which runs in whichever thread delivers the value (at
once, when it is already there). An exception in a step skips the steps after it and
reaches the end, where ``result()`` raises it or ``subscribe`` hands it over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")

Subscriber = Callable[[T | None, BaseException | None], None]


class NotFinishedError(RuntimeError):
    """``result()`` of a :class:`Later` that has neither a value nor an error yet."""


class Later(Generic[T]):
    """A value or an error, now or later; each subscriber is called exactly once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finished = False
        self._value: T | None = None
        self._error: BaseException | None = None
        self._subscribers: list[Subscriber[T]] = []

    @classmethod
    def of(cls, value: T) -> Later[T]:
        """A value that is already there."""
        later: Later[T] = cls()
        later.deliver(value)
        return later

    def deliver(self, value: T) -> None:
        self._finish(value, None)

    def fail(self, error: BaseException) -> None:
        self._finish(None, error)

    def _finish(self, value: T | None, error: BaseException | None) -> None:
        with self._lock:
            if self._finished:
                raise RuntimeError("a Later is finished only once")
            self._finished, self._value, self._error = True, value, error
            subscribers, self._subscribers = self._subscribers, []
        for subscriber in subscribers:
            subscriber(value, error)

    def subscribe(self, subscriber: Subscriber[T]) -> None:
        """Call ``subscriber(value, error)`` when finished (now, if it is)."""
        with self._lock:
            if not self._finished:
                self._subscribers.append(subscriber)
                return
            value, error = self._value, self._error
        subscriber(value, error)

    def then(self, step: Callable[[T], U]) -> Later[U]:
        """The result of ``step(value)``; an error skips ``step``."""
        following: Later[U] = Later()

        def run(value: T | None, error: BaseException | None) -> None:
            if error is not None:
                following.fail(error)
                return
            following._finish_with(lambda: step(value))  # type: ignore[arg-type]

        self.subscribe(run)
        return following

    def then_later(self, step: Callable[[T], Later[U]]) -> Later[U]:
        """Like ``then`` for a step that itself finishes later."""
        following: Later[U] = Later()

        def run(value: T | None, error: BaseException | None) -> None:
            if error is not None:
                following.fail(error)
                return
            try:
                inner = step(value)  # type: ignore[arg-type]
            except BaseException as failure:
                following.fail(failure)
                return
            inner.subscribe(following._finish)

        self.subscribe(run)
        return following

    def always(self, step: Callable[[], None]) -> Later[T]:
        """Run ``step`` after a value or an error (a lock's release); pass either on."""
        following: Later[T] = Later()

        def run(value: T | None, error: BaseException | None) -> None:
            try:
                step()
            except BaseException as failure:
                following.fail(error or failure)
                return
            following._finish(value, error)

        self.subscribe(run)
        return following

    def _finish_with(self, step: Callable[[], T]) -> None:
        try:
            value = step()
        except BaseException as error:
            self.fail(error)
        else:
            self.deliver(value)

    def result(self) -> T:
        """The value; raise the error, or :class:`NotFinishedError` when not yet finished."""
        with self._lock:
            if not self._finished:
                raise NotFinishedError("the result is not there yet")
            if self._error is not None:
                raise self._error
            return self._value  # type: ignore[return-value]
