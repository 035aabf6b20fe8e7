"""A fixed number of worker threads that take their tasks most urgent first.

Pre-flight, checks, send, verify and record run here; waiting for an action does not (see
:mod:`snapd.pipeline.poller`), so a small pool serves any fleet. When more VMs are due
than the workers and the request budget serve at once, the order is the tasks' priority:
continuations of slots already sent go first (they free a VM), then new slots by
urgency (:mod:`snapd.pipeline.urgency`), in the order they came among equals.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger("snapd.workers")

DEFAULT_WORKERS = 16
MAXIMUM_WORKERS = 48  # with the poller and the daemon's own threads, under 64 in all
# A continuation (verify and record after the wait) before any new slot.
CONTINUATION = (0, 0.0)

Priority = tuple[int, float]


@dataclass(order=True)
class _Task:
    priority: Priority
    number: int
    run: Callable[[], None] = field(compare=False)


class WorkerPool:
    """Runs submitted tasks on at most ``workers`` threads, started as work arrives."""

    def __init__(self, workers: int = DEFAULT_WORKERS, name: str = "snapd-worker") -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.workers = min(workers, MAXIMUM_WORKERS)
        self.name = name
        self._queue: list[_Task] = []
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a task to take, or closed
        self._drained = threading.Condition(self._lock)  # a task finished
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._busy = 0
        self._closed = False

    def submit(self, run: Callable[[], None], priority: Priority = CONTINUATION) -> None:
        """Queue ``run``; raise ``RuntimeError`` once the pool is closed."""
        with self._changed:
            if self._closed:
                raise RuntimeError("the worker pool is closed")
            heapq.heappush(self._queue, _Task(priority, next(self._numbers), run))
            if len(self._queue) > self._idle and len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._changed.notify()

    def queued(self) -> int:
        """Tasks waiting for a worker."""
        with self._changed:
            return len(self._queue)

    def busy(self) -> int:
        """Tasks queued or running."""
        with self._changed:
            return len(self._queue) + self._busy

    def close(self, *, cancel_queued: bool = False) -> int:
        """Take no more tasks; the queued ones still run, unless ``cancel_queued`` drops
        those that are not continuations (returns how many it dropped)."""
        with self._changed:
            self._closed = True
            kept = self._queue
            if cancel_queued:
                kept = [task for task in self._queue if task.priority <= CONTINUATION]
                heapq.heapify(kept)
            dropped, self._queue = len(self._queue) - len(kept), kept
            self._changed.notify_all()
        return dropped

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the queue is empty and every worker is idle; True if it is."""
        with self._lock:
            return self._drained.wait_for(
                lambda: not self._queue and self._busy == 0, timeout=timeout
            )

    def _work(self) -> None:
        while True:
            with self._changed:
                self._idle += 1
                while not self._queue and not self._closed:
                    self._changed.wait()
                self._idle -= 1
                if not self._queue:
                    return
                task = heapq.heappop(self._queue)
                self._busy += 1
            try:
                task.run()
            except Exception:
                log.exception("worker_task_crashed")
            finally:
                with self._lock:
                    self._busy -= 1
                    self._drained.notify_all()
