"""A monotonic clock whose sleep costs no real time, and a request budget on it."""

from __future__ import annotations

import threading
import time

from snapd.hostinger.budget import RequestBudget


class FakeTime:
    """A monotonic clock whose sleep advances it instantly. Thread-safe."""

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
        time.sleep(0)  # let other threads run, as a real sleep would

    def elapsed(self) -> float:
        return self.monotonic() - self.start


def make_budget(
    requests_per_minute: float, fake_time: FakeTime, burst: int | None = None
) -> RequestBudget:
    return RequestBudget(
        requests_per_minute, monotonic=fake_time.monotonic, sleep=fake_time.sleep, burst=burst
    )
