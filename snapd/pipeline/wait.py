"""Waiting for an asynchronous Hostinger action, and checking what it left behind.

Actions report ``created``, ``sent``, ``delayed``, undocumented states such as ``started``,
and finally ``success`` or ``error``. Anything but the two final states means "still
running". Polls back off so that a fleet of waits costs few requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

import structlog

from snapd.clock import Clock
from snapd.hostinger import (
    Action,
    ApiError,
    AuthenticationError,
    ConnectionFailedError,
    FailureReason,
    HostingerClient,
    NotFoundError,
)

log = structlog.get_logger("snapd.waiting")

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Watch(Protocol[R_co]):
    """Something looked at now and then until it ends: an action, an intent to resolve.

    ``pause`` is how long until the next look, ``poll`` one look (the end, or None),
    ``expired`` the end once the deadline passed after at least one look, ``stopped``
    the end a stop gives it. :func:`wait_for` runs a watch on the calling thread; the
    poller (:mod:`snapd.pipeline.poller`) runs many from one thread.
    """

    @property
    def virtual_machine_id(self) -> int: ...

    def pause(self, now: datetime) -> float: ...

    def poll(self, client: HostingerClient) -> R_co | None: ...

    def expired(self, now: datetime) -> R_co | None: ...

    def stopped(self) -> R_co: ...


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


def action_seconds(action: Action | None) -> float | None:
    """How long a finished action ran, by the server's own timestamps: from its
    ``created_at`` to the ``updated_at`` of its final state. None when it is not finished
    or the API did not say (a time the API was unreachable is never counted in)."""
    if action is None or not action.is_final:
        return None
    if action.created_at is None or action.updated_at is None:
        return None
    seconds = (action.updated_at - action.created_at).total_seconds()
    return seconds if seconds >= 0 else None


class WaitState(StrEnum):
    """How a wait for an action ended (see ``WaitResult``)."""

    SUCCESS = "success"
    ERROR = "error"
    GONE = "gone"
    TIMEOUT = "timeout"
    UNAUTHORIZED = "unauthorized"
    STOPPED = "stopped"
    CERTIFICATE = "certificate"


@dataclass(frozen=True)
class WaitResult:
    """``action`` is the last state read.

    ``state`` is ``success`` or ``error`` (the action's own final state), ``gone`` (the API
    answered 404: it no longer knows the action, so only the snapshot can tell),
    ``timeout``, ``unauthorized`` (the token was refused while polling), ``certificate``
    (the API's TLS certificate was not trusted while polling) or ``stopped``. Only the
    first three end the action; after the others it stays pending.
    """

    state: WaitState
    action: Action | None
    detail: str


@dataclass
class ActionWatch:
    """One action being waited for: where its backoff stands and what was read last.

    The one meaning of a poll's answer, shared by the blocking wait below (command-line
    operations) and the poller that serves every in-flight action of a fleet.
    """

    virtual_machine_id: int
    action_id: int
    deadline: datetime
    settings: PollSettings
    delay: float
    last: Action | None = None
    polled: bool = False

    @classmethod
    def begin(
        cls,
        virtual_machine_id: int,
        action_id: int,
        deadline: datetime,
        settings: PollSettings,
        previous_seconds: float | None,
    ) -> ActionWatch:
        """A watch whose first poll is timed from the VM's last duration."""
        first = settings.first(previous_seconds)
        return cls(virtual_machine_id, action_id, deadline, settings, first)

    def pause(self, now: datetime) -> float:
        """Seconds until the next poll; never past the deadline."""
        remaining = (self.deadline - now).total_seconds()
        return max(min(self.delay, remaining), 0.0)

    def expired(self, now: datetime) -> WaitResult | None:
        """The timeout, once the deadline passed and the action was read at least once."""
        if self.polled and (self.deadline - now).total_seconds() <= 0:
            detail = f"action {self.action_id} not finished by the deadline"
            return WaitResult(WaitState.TIMEOUT, self.last, detail)
        return None

    def stopped(self) -> WaitResult:
        return WaitResult(WaitState.STOPPED, self.last, "stopping; the action stays pending")

    def poll(self, client: HostingerClient) -> WaitResult | None:
        """Read the action once: the wait's end, or None to poll again after ``pause``.

        Transient API errors are logged and polled through. What polling cannot cure ends
        the wait at once: a refused token (state ``unauthorized``), an untrusted TLS
        certificate (state ``certificate``) and a 404 (state ``gone``: an action the API
        has forgotten will not come back).
        """
        self.delay = min(self.delay * self.settings.factor, self.settings.maximum_delay)
        self.polled = True
        vm, action_id = self.virtual_machine_id, self.action_id
        try:
            self.last = client.get_action(vm, action_id)
        except AuthenticationError as error:
            return WaitResult(
                WaitState.UNAUTHORIZED, self.last, f"the API refused the token: {error}"
            )
        except NotFoundError:
            return WaitResult(
                WaitState.GONE, self.last, f"the API no longer knows action {action_id}"
            )
        except ApiError as error:
            if untrusted(error):
                return WaitResult(WaitState.CERTIFICATE, self.last, error.message)
            log.warning(
                "action_poll_failed",
                vm=vm,
                action_id=action_id,
                error=str(error),
                correlation_id=error.correlation_id,
            )
            return None
        log.debug("action_polled", vm=vm, action_id=action_id, state=self.last.state)
        if self.last.is_final:
            return WaitResult(
                WaitState(self.last.state),
                self.last,
                f"action {action_id} ended in {self.last.state}",
            )
        return None


def untrusted(error: ApiError) -> bool:
    """True when ``error`` is an untrusted TLS certificate: the same on every later try."""
    return isinstance(error, ConnectionFailedError) and error.reason == FailureReason.CERTIFICATE


def wait_for(
    client: HostingerClient,
    clock: Clock,
    watch: Watch[R],
    should_stop: Callable[[], bool],
) -> R:
    """Run ``watch`` on this thread until it ends, its deadline passes or ``should_stop()``.

    It is looked at at least once, even when the deadline has already passed (a resumed
    wait)."""
    while True:
        ended = watch.expired(clock.now())
        if ended is not None:
            return ended
        if should_stop():
            return watch.stopped()
        clock.sleep(watch.pause(clock.now()))
        if should_stop():
            return watch.stopped()
        ended = watch.poll(client)
        if ended is not None:
            return ended
