"""This daemon's role among the replicas of its fleet, as its parts ask about it.

With the SQLite ledger there is one instance and it always leads. With a shared ledger
the :class:`~snapd.ledger.leadership.Leadership` decides; the pipeline's ``should_stop``
asks :meth:`LeaderRole.is_leader` before every step that could send or wait, so a
replica that loses the lead stops sending at once and leaves its pending rows for the
next leader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class LeadershipState(Protocol):
    def is_leader(self) -> bool: ...


class LeaderRole:
    """Bridges the leadership's reports to the daemon, which exists only later."""

    def __init__(self) -> None:
        self.leadership: LeadershipState | None = None
        self.on_change: Callable[[bool], None] | None = None
        self.on_error: Callable[[], None] | None = None

    def is_leader(self) -> bool:
        """True while this replica may act (always, without a shared ledger)."""
        return self.leadership is None or self.leadership.is_leader()

    def changed(self, leader: bool) -> None:
        """The leadership's report of a change of role."""
        if self.on_change is not None:
            self.on_change(leader)

    def error(self) -> None:
        """The leadership's report of a failed database operation."""
        if self.on_error is not None:
            self.on_error()
