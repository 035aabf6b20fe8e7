"""Waiting for an asynchronous Hostinger action, and checking what it left behind.

Actions report ``created``, ``sent``, ``delayed``, undocumented states such as ``started``,
and finally ``success`` or ``error``. Anything but the two final states means "still
running". Polls back off so that a fleet of waits costs few requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from snapd.clock import Clock
from snapd.hostinger import Action, ApiError, AuthenticationError, HostingerClient, NotFoundError

log = structlog.get_logger("snapd.waiting")


@dataclass(frozen=True)
class PollSettings:
    """Backoff of action polls: start near the VM's usual duration, grow, stay bounded."""

    first_delay: float = 2.0
    minimum_delay: float = 1.0
    maximum_delay: float = 60.0
    factor: float = 1.5

    #: The first poll waits the VM's last duration times this, plus ``first_margin``: a
    #: little longer than last time, so that one poll usually finds the action done (a
    #: poll too early costs a request and another wait; a second too late costs nothing).
    first_factor: float = 1.1
    first_margin: float = 1.0
    #: The first poll's own bound: a VM whose snapshot took 5 minutes last time is first
    #: polled after about 5.5, not every ``maximum_delay`` meanwhile.
    first_maximum: float = 900.0

    def first(self, previous_seconds: float | None) -> float:
        """The first poll: a little after the VM's last duration, when known."""
        if previous_seconds is None:
            return self.first_delay
        delay = previous_seconds * self.first_factor + self.first_margin
        return min(max(delay, self.minimum_delay), max(self.first_maximum, self.maximum_delay))


@dataclass(frozen=True)
class WaitResult:
    """``action`` is the last state read.

    ``state`` is ``success`` or ``error`` (the action's own final state), ``gone`` (the API
    answered 404: it no longer knows the action, so only the snapshot can tell),
    ``timeout``, ``unauthorized`` (the token was refused while polling) or ``stopped``.
    Only the first three end the action; after the others it stays pending.
    """

    state: str
    action: Action | None
    detail: str


def wait_for_action(
    client: HostingerClient,
    clock: Clock,
    virtual_machine_id: int,
    action_id: int,
    deadline: datetime,
    *,
    settings: PollSettings,
    previous_seconds: float | None,
    should_stop: Callable[[], bool],
) -> WaitResult:
    """Poll ``action_id`` until it is final, ``deadline`` passes or ``should_stop()``.

    Transient API errors during polling are logged and polled through; an authentication
    error ends the wait at once (state ``unauthorized``), and so does a 404 (state
    ``gone``): an action the API has forgotten will not come back by polling. The action
    is read at least once, even when ``deadline`` has already passed (a resumed wait).
    """
    delay = settings.first(previous_seconds)
    last: Action | None = None
    polled = False
    while True:
        remaining = (deadline - clock.now()).total_seconds()
        if remaining <= 0 and polled:
            return WaitResult("timeout", last, f"action {action_id} not finished by the deadline")
        if should_stop():
            return WaitResult("stopped", last, "stopping; the action stays pending")
        clock.sleep(max(min(delay, remaining), 0.0))
        delay = min(delay * settings.factor, settings.maximum_delay)
        polled = True
        if should_stop():
            return WaitResult("stopped", last, "stopping; the action stays pending")
        try:
            last = client.get_action(virtual_machine_id, action_id)
        except AuthenticationError as error:
            return WaitResult("unauthorized", last, f"the API refused the token: {error}")
        except NotFoundError:
            return WaitResult("gone", last, f"the API no longer knows action {action_id}")
        except ApiError as error:
            log.warning(
                "action_poll_failed",
                vm=virtual_machine_id,
                action_id=action_id,
                error=str(error),
                correlation_id=error.correlation_id,
            )
            continue
        log.debug("action_polled", vm=virtual_machine_id, action_id=action_id, state=last.state)
        if last.is_final:
            return WaitResult(last.state, last, f"action {action_id} ended in {last.state}")
