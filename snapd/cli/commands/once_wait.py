"""How ``once`` waits for its pass: each slot's outcome or error as it comes, and a wait
that Ctrl-C ends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from snapd.clock import Clock
from snapd.pipeline.outcome import Outcome

# How often the main thread looks at the stop event while the pipelines run.
_STOP_CHECK_SECONDS = 0.2


@dataclass
class PassResults:
    """A pass's outcomes (by submission order) and errors, and the condition they signal."""

    finished: dict[int, Outcome] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def done_hook(self, index: int) -> Callable[[Outcome | None, BaseException | None], None]:
        """What the fleet calls once with the ``index``-th slot's outcome or error."""

        def done(outcome: Outcome | None, error: BaseException | None) -> None:
            with self.changed:
                if outcome is not None:
                    self.finished[index] = outcome
                if error is not None:
                    self.errors.append(error)
                self.changed.notify_all()

        return done

    def count(self) -> int:
        return len(self.finished) + len(self.errors)

    def outcomes(self) -> list[Outcome]:
        with self.changed:
            return [self.finished[index] for index in sorted(self.finished)]


def wait_or_stop(
    count: Callable[[], int],
    total: int,
    changed: threading.Condition,
    stop: threading.Event,
    clock: Clock,
    finished: Callable[[int], None] | None = None,
) -> bool:
    """Wait on ``clock`` for every pipeline; ``True`` as soon as ``stop`` is set first.
    ``finished`` hears how many have finished, at each look."""
    with changed:
        while count() < total:
            if stop.is_set():
                return True
            if finished is not None:
                finished(count())
            clock.wait(changed, _STOP_CHECK_SECONDS)
    return stop.is_set()
