"""A clock whose waits cost no real time, and a request budget on it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from snapd.clock import Waitable
from snapd.hostinger.budget import RequestBudget

EPOCH = datetime(2025, 6, 1, tzinfo=UTC)


class FakeTime:
    """A clock whose every wait advances it instantly (no other thread moves it), and
    which remembers the length of each wait. Thread-safe."""

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self.now_seconds = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        with self._lock:
            return self.now_seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now_seconds += seconds
        time.sleep(0)  # let other threads run, as a real sleep would

    def wait(self, target: Waitable, seconds: float) -> bool:
        """True at once if ``target`` (an event) is set; else sleep ``seconds``."""
        if isinstance(target, threading.Event) and target.is_set():
            return True
        self.sleep(seconds)
        return isinstance(target, threading.Event) and target.is_set()

    def elapsed(self) -> float:
        return self.monotonic() - self.start


def make_budget(
    requests_per_minute: float, fake_time: FakeTime, burst: int | None = None
) -> RequestBudget:
    return RequestBudget(requests_per_minute, fake_time, burst=burst)
