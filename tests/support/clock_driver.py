"""A clock driver: moves a manual clock to the end of the poller's and the daemon's
housekeeping waits (the inventory's spacing), and no further."""

from __future__ import annotations

import threading
from datetime import datetime
from types import TracebackType

from snapd.clock import ManualClock
from snapd.daemon.scheduler import SCHEDULER_THREAD_PREFIX, SCHEDULER_THREADS
from snapd.pipeline.poller import THREAD_NAME

#: The threads whose waits are driven: the poller, and the scheduler's, which run the
#: daemon's housekeeping (the inventory paces its requests on the daemon's clock).
DRIVEN_THREADS = (
    THREAD_NAME,
    *(f"{SCHEDULER_THREAD_PREFIX}_{number}" for number in range(SCHEDULER_THREADS)),
)

# How long the driver's thread rests (real seconds) when the poller does not wait.
IDLE_SECONDS = 0.002


class PollerClockDriver:
    """While open, sets ``clock`` to the end of the earliest pending wait of the poller
    or the scheduler's threads (the inventory's spacing).

    Only those waits are driven, so the health probe's and the watchdog's waits on the
    same clock end when the test advances it, at the exact times it asserts. Closed
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
            end = self._earliest_end() if self.open.is_set() else None
            if end is None:
                self._stop.wait(IDLE_SECONDS)
            else:
                self.clock.set(end)

    def _earliest_end(self) -> datetime | None:
        ends = [self.clock.earliest_wait_end(name) for name in DRIVEN_THREADS]
        return min((end for end in ends if end is not None), default=None)
