"""The daemon's action poller on virtual time: each poll is an event of the simulation.

``snapd run`` hands every accepted action to a poller thread, so that one VM's wait does
not hold up the next VM's slot. Here the same watches (``snapd.pipeline.wait``) are
polled as events of the driver's queue instead of on a thread: the turn below is the
poller's (poll; else ask whether the wait expired; else come back after its pause), and
the slot's end (verify, record) runs when the action's end is delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from snapd.clock import Clock
from snapd.hostinger import HostingerClient
from snapd.pipeline.later import Later
from snapd.pipeline.wait import Watch

R = TypeVar("R")

#: Put a step on the simulation's queue at a moment.
Schedule = Callable[[datetime, Callable[[], None]], None]


class VirtualPoller:
    """An ``ActionWaiter`` whose polls are events at virtual moments."""

    def __init__(self, client: HostingerClient, clock: Clock, schedule: Schedule) -> None:
        self.client = client
        self.clock = clock
        self.schedule = schedule

    def __call__(self, watch: Watch[R]) -> Later[R]:
        later: Later[R] = Later()
        self._again(watch, later)
        return later

    def _again(self, watch: Watch[R], later: Later[R]) -> None:
        now = self.clock.now()
        due = now + timedelta(seconds=watch.pause(now))
        self.schedule(due, lambda: self._turn(watch, later))

    def _turn(self, watch: Watch[R], later: Later[R]) -> None:
        """Poll once; deliver the end (or the error), or come back after the pause."""
        try:
            ended = watch.poll(self.client)
        except Exception as error:  # the slot's own handling decides, as with the poller
            later.fail(error)
            return
        if ended is None:
            ended = watch.expired(self.clock.now())
        if ended is None:
            self._again(watch, later)
        else:
            later.deliver(ended)
