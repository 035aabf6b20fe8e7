"""A clock driver: moves a manual clock to the end of the poller's waits, and no further."""

from __future__ import annotations

import threading
from types import TracebackType

from snapd.clock import ManualClock
from snapd.pipeline.poller import THREAD_NAME

# How long the driver's thread rests (real seconds) when the poller does not wait.
IDLE_SECONDS = 0.002


class PollerClockDriver:
    """While open, sets ``clock`` to the end of the poller's earliest pending wait.

    Only the poller's waits are driven, so the scheduler's and the health probe's waits on
    the same clock end when the test advances it, at the exact times it asserts. Closed
    (``open`` cleared) it holds the poller's time: the actions stay in flight. A context
    manager: the thread runs between ``__enter__`` and ``__exit__``.
    """

    def __init__(self, clock: ManualClock, *, opened: bool = True) -> None:
        self.clock = clock
        self.open = threading.Event()
        if opened:
            self.open.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clock-driver", daemon=True)

    def __enter__(self) -> PollerClockDriver:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            end = self.clock.earliest_wait_end(THREAD_NAME) if self.open.is_set() else None
            if end is None:
                self._stop.wait(IDLE_SECONDS)
            else:
                self.clock.set(end)
