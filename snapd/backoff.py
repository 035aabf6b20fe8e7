"""Growing pauses between repeated tries, the one place their shape is set.

``Backoff`` for a loop that keeps its own state; ``doubling`` for a pause computed from the
try's number (the transport's retries of reads, the notifications' deliveries).
"""

from __future__ import annotations

from dataclasses import dataclass


def doubling(first: float, number: int) -> float:
    """The pause before try ``number`` (from 1): ``first``, then twice as long each time.

    The exponent stops growing at 32, so that an absurd ``number`` cannot overflow.
    """
    return first * 2.0 ** min(number - 1, 32)


@dataclass
class Backoff:
    """Pauses that start at ``first`` seconds and grow by ``factor`` up to ``maximum``.

    ``next()`` returns the pause to take now and grows the following one. Not shared
    between threads: each loop makes its own.
    """

    first: float = 2.0
    factor: float = 2.0
    maximum: float = 60.0

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.maximum < self.first:
            raise ValueError("backoff needs first > 0, factor >= 1 and maximum >= first")
        self._current = self.first

    def next(self) -> float:
        """The pause to take now; the next call returns a longer one, up to ``maximum``."""
        pause = self._current
        self._current = min(self._current * self.factor, self.maximum)
        return pause
