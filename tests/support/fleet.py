"""Helpers of the fleet tests: the outcomes delivered, a wait."""

from __future__ import annotations

import threading
from collections.abc import Callable

from snapd.pipeline.outcome import Outcome


class Collected:
    """Outcomes as the fleet's ``done`` callbacks deliver them."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.errors: list[BaseException] = []
        self.changed = threading.Condition()

    def done(self, outcome: Outcome | None, error: BaseException | None) -> None:
        with self.changed:
            if outcome is not None:
                self.outcomes.append(outcome)
            if error is not None:
                self.errors.append(error)
            self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(
                lambda: len(self.outcomes) + len(self.errors) >= count, timeout=60
            ), f"{len(self.outcomes)} of {count} outcomes"
        assert not self.errors


def wait_until(condition: Callable[[], bool], what: str) -> None:
    happened = threading.Event()
    for _ in range(600):
        if condition():
            return
        happened.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")
