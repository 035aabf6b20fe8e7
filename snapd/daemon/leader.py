"""This daemon's role among the replicas of its fleet, as its parts ask about it.

With the SQLite ledger there is one instance and it always leads. With a shared ledger
the :class:`~snapd.ledger.leadership.Leadership` decides; the pipeline's ``should_stop``
asks :meth:`LeaderRole.is_leader` before every step that could send or wait, so a
replica that loses the lead stops sending at once and leaves its pending rows for the
next leader.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from snapd.clock import Clock, Waitable
from snapd.config import VirtualMachinePolicy
from snapd.daemon.scheduler import RunPurpose
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import Outcome

log = structlog.get_logger("snapd.daemon")

RunSoon = Callable[[int, datetime | None, RunPurpose, datetime | None], None]


#: Why a slot did not run here (label values of ``snapd_slots_skipped_total``).
STANDBY = "standby"
LEADERSHIP_UNCONFIRMED = "leadership_unconfirmed"


class LeadershipState(Protocol):
    def is_leader(self) -> bool: ...

    def holder_pid(self) -> int | None: ...


class LeaderRole:
    """Bridges the leadership's reports to the daemon, which exists only later."""

    def __init__(self) -> None:
        self.leadership: LeadershipState | None = None
        self.on_change: Callable[[bool], None] | None = None
        self.on_error: Callable[[], None] | None = None

    def is_leader(self) -> bool:
        """True while this replica may act (always, without a shared ledger)."""
        return self.leadership is None or self.leadership.is_leader()

    def not_leading_reason(self) -> str:
        """Why this replica may not act now: ``leadership_unconfirmed`` while it holds the
        lock but its session has not answered lately (a stall), else ``standby``."""
        if self.leadership is not None and self.leadership.holder_pid() is not None:
            return LEADERSHIP_UNCONFIRMED
        return STANDBY

    def changed(self, leader: bool) -> None:
        """The leadership's report of a change of role."""
        if self.on_change is not None:
            self.on_change(leader)

    def error(self) -> None:
        """The leadership's report of a failed database operation."""
        if self.on_error is not None:
            self.on_error()


class LeaderAwareClock:
    """The daemon's clock for a replica: a sleep also ends, within half a second, when
    the replica stops leading, so a job waiting on an action ends at once and frees the
    VM's lock for the new leader (it left the pending row for it)."""

    SLICE_SECONDS = 0.5

    def __init__(self, inner: Clock, role: LeaderRole, stop: threading.Event) -> None:
        self._inner = inner
        self._role = role
        self._stop = stop

    def now(self) -> datetime:
        return self._inner.now()

    def monotonic(self) -> float:
        return self._inner.monotonic()

    def wait(self, target: Waitable, seconds: float) -> bool:
        return self._inner.wait(target, seconds)

    def sleep(self, seconds: float) -> None:
        deadline = self._inner.now() + timedelta(seconds=seconds)
        while not self._stop.is_set() and self._role.is_leader():
            remaining = (deadline - self._inner.now()).total_seconds()
            if remaining <= 0:
                return
            self._inner.sleep(min(remaining, self.SLICE_SECONDS))


class TakeoverRetries:
    """A new leader's resume or catch-up finds the VM's lock still held by the old leader
    (a hook still running there): look again every :data:`RETRY_SECONDS` until the VM's
    ``busy_timeout`` passes, instead of leaving the slot to the next schedule."""

    RETRY_SECONDS = 5.0
    PURPOSES = (RunPurpose.RESUME, RunPurpose.CATCH_UP)

    def __init__(self, run_soon: RunSoon, clock: Clock) -> None:
        self._run_soon = run_soon
        self._clock = clock
        self._first: dict[int, datetime] = {}

    def after(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        purpose: RunPurpose,
        outcome: Outcome,
    ) -> None:
        """Schedule another look when ``outcome`` is a skip for a busy VM lock."""
        if purpose not in self.PURPOSES or outcome.reason != Reason.OPERATION_IN_PROGRESS:
            self._first.pop(policy.id, None)
            return
        now = self._clock.now()
        first = self._first.setdefault(policy.id, now)
        if now - first >= policy.busy_timeout:
            self._first.pop(policy.id, None)
            log.warning("takeover_run_abandoned", vm=policy.id, slot=slot, purpose=purpose)
            return
        log.info("takeover_run_retried", vm=policy.id, slot=slot, seconds=self.RETRY_SECONDS)
        self._run_soon(policy.id, slot, purpose, now + timedelta(seconds=self.RETRY_SECONDS))
