"""Growing pauses between repeated looks at the API, the one place their shape is set."""

from __future__ import annotations

from dataclasses import dataclass


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
