"""The callers of a request budget asleep until their reserved slot, in the order they asked.

Each caller joins with the slot it reserved and gets a ticket; it reads its (possibly
moved) slot by that ticket when it wakes, and leaves when it goes or gives up. A pause
pushes every reserved slot behind its end, keeping the order and the steady pace, so a
pause is never followed by a burst. Not thread-safe: the budget's lock guards it.
"""

from __future__ import annotations

import itertools


class WaitingLine:
    """Reserved slots (monotonic seconds) of the callers still asleep, first come first."""

    def __init__(self) -> None:
        self._tickets = itertools.count()
        self._slots: dict[int, float] = {}  # ticket → reserved slot, in joining order

    def join(self, slot: float) -> int:
        """Queue a caller for ``slot``; returns its ticket."""
        ticket = next(self._tickets)
        self._slots[ticket] = slot
        return ticket

    def slot(self, ticket: int) -> float:
        """The slot ``ticket`` holds now (a pause may have moved it)."""
        return self._slots[ticket]

    def leave(self, ticket: int) -> None:
        """Forget ``ticket`` (its caller went, or gave up); a second leave is harmless."""
        self._slots.pop(ticket, None)

    def push_behind(self, until: float, interval: float) -> float:
        """Move every reserved slot to ``until`` or later, one per ``interval`` in order,
        never earlier than it was; returns the first slot free after them."""
        slot = until
        for ticket, reserved in self._slots.items():
            slot = max(slot, reserved)
            self._slots[ticket] = slot
            slot += interval
        return slot
