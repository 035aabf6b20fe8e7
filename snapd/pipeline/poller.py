"""One thread that waits for every in-flight action, instead of one sleeping thread per VM.

A slot whose create was accepted (its pending row, action id included, is in the ledger)
hands the action to :meth:`ActionPoller.watch` and frees its worker; so does a slot whose
send was ambiguous, with its intent to resolve. The poller keeps the watches
(:class:`~snapd.pipeline.wait.Watch`: an action, an intent) in a heap by their next look
and looks at each by the same rules as the blocking wait. When a watch ends (success,
error, gone, timeout, unauthorized, resolved, stop), the
:class:`~snapd.pipeline.later.Later` it returned is finished through ``dispatch``, so the
continuation (verify, record) runs on a worker, never on the poller's thread.

A stop (``close()`` or ``should_stop()``) ends every watch as ``stopped``: the pending rows
stay for the next run, as after a stop in a blocking wait.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from structlog.contextvars import bound_contextvars

from snapd.clock import Clock
from snapd.hostinger import HostingerClient
from snapd.pipeline.later import Later
from snapd.pipeline.wait import Watch

log = structlog.get_logger("snapd.poller")

# While actions are in flight the poller waits on its condition and still looks at
# ``should_stop`` at least this often (a stop need not notify the poller).
STOP_CHECK_SECONDS = 1.0

# The poller's thread, by name: a test's clock driver moves time only for its waits.
THREAD_NAME = "snapd-poller"

Dispatch = Callable[[Callable[[], None]], None]
R = TypeVar("R")


@dataclass(order=True)
class _Entry:
    due: datetime
    number: int
    watch: Watch[Any] = field(compare=False)
    later: Later[Any] = field(compare=False)


class ActionPoller:
    """Polls every watched action from one thread; ``watch`` is thread-safe.

    ``dispatch(step)`` runs ``step`` on a worker (the continuation of the slot). The
    poller passes time only by waiting on ``clock`` (real or manual) for a condition that
    a new, earlier action or a stop interrupts: on a manual clock, whoever drives that
    clock decides when the next poll is due.
    """

    def __init__(
        self,
        client: HostingerClient,
        clock: Clock,
        dispatch: Dispatch,
        *,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.client = client
        self.clock = clock
        self.dispatch = dispatch
        self.should_stop = should_stop
        self._heap: list[_Entry] = []
        self._numbers = itertools.count()
        self._changed = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def watch(self, watch: Watch[R]) -> Later[R]:
        """Run ``watch`` from the poller's thread; its end arrives on a worker (``dispatch``)."""
        later: Later[R] = Later()
        with self._changed:
            if self._closed:
                stopped = True
            else:
                stopped = False
                due = self.clock.now() + timedelta(seconds=watch.pause(self.clock.now()))
                heapq.heappush(self._heap, _Entry(due, next(self._numbers), watch, later))
                self._start_thread()
                self._changed.notify()
        if stopped:
            self._hand_over(later, watch, watch.stopped())
        return later

    def in_flight(self) -> int:
        """How many actions are being waited for."""
        with self._changed:
            return len(self._heap)

    def close(self, timeout: float | None = None) -> None:
        """Stop polling: every wait ends as ``stopped``; wait up to ``timeout`` for the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            entry = self._next_due()
            if entry is None:
                break
            self._turn(entry)
        self._stop_all()

    def _next_due(self) -> _Entry | None:
        """The entry whose poll is due, after waiting for it; None when stopping."""
        while True:
            with self._changed:
                if self._closed or self.should_stop():
                    # Not closed for good on should_stop: a replica that lost the lead may
                    # win it back, and its next watch starts a new thread (_stop_all).
                    return None
                if not self._heap:
                    self._changed.wait()  # a new action or close() wakes it; idle costs nothing
                    continue
                delay = (self._heap[0].due - self.clock.now()).total_seconds()
                if delay <= 0:
                    return heapq.heappop(self._heap)
                self.clock.wait(self._changed, min(delay, STOP_CHECK_SECONDS))

    def _turn(self, entry: _Entry) -> None:
        """Poll one action; hand its end over, or put it back for its next poll."""
        try:
            ended = entry.watch.poll(self.client)
        except Exception as error:
            self._hand_over_error(entry.later, entry.watch, error)
            return
        now = self.clock.now()
        if ended is None:
            ended = entry.watch.expired(now)
        if ended is not None:
            self._hand_over(entry.later, entry.watch, ended)
            return
        entry.due = now + timedelta(seconds=entry.watch.pause(now))
        with self._changed:
            heapq.heappush(self._heap, entry)

    def _stop_all(self) -> None:
        with self._changed:
            entries, self._heap = self._heap, []
            self._thread = None  # a later watch starts a new one (and stops it, if stopping)
        if entries:
            log.info("poller_stopped", pending_actions=len(entries))
        for entry in entries:
            self._hand_over(entry.later, entry.watch, entry.watch.stopped())

    def _hand_over(self, later: Later[R], watch: Watch[R], result: R) -> None:
        def deliver() -> None:
            with bound_contextvars(vm=watch.virtual_machine_id):
                later.deliver(result)

        self._dispatch(deliver)

    def _hand_over_error(self, later: Later[Any], watch: Watch[Any], error: BaseException) -> None:
        def fail() -> None:
            with bound_contextvars(vm=watch.virtual_machine_id):
                later.fail(error)

        self._dispatch(fail)

    def _dispatch(self, step: Callable[[], None]) -> None:
        try:
            self.dispatch(step)
        except RuntimeError:  # the workers are gone (a stop): finish here rather than never
            step()
