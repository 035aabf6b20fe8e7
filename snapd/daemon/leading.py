"""The daemon following its fleet's leadership (a shared ledger): standby or leader.

A mixin of :class:`~snapd.daemon.daemon.Daemon`. A new leader resumes what the last one
left and catches up, as a restarted single instance does; a standby's running jobs stop
at their next step.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from snapd.clock import Clock
from snapd.config import Config
from snapd.daemon import systemd
from snapd.daemon.catch_up import CatchUp
from snapd.daemon.leader import LeaderRole, TakeoverRetries
from snapd.daemon.parts import DaemonRuntime
from snapd.daemon.runs import SlotRuns
from snapd.daemon.scheduler import SlotScheduler
from snapd.daemon.startup import remember_successes, schedule_resumes
from snapd.metrics import Metrics
from snapd.pipeline.accounts import SlotRunner

if TYPE_CHECKING:
    from snapd.ledger.leadership import Leadership


class FollowsLeadership:
    """Attaches a daemon to its leadership and acts on each change of role."""

    config: Config
    clock: Clock
    metrics: Metrics
    runtime: DaemonRuntime
    runs: SlotRuns
    scheduler: SlotScheduler
    stop_event: threading.Event
    leader_role: LeaderRole
    leadership: Leadership | None
    _started: bool

    @property
    def fleet(self) -> SlotRunner:
        raise NotImplementedError  # the daemon's

    def attach_leadership(self, leadership: Leadership | None, role: LeaderRole) -> None:
        """Follow ``leadership`` (None: a single instance, always leader) through ``role``."""
        self.leadership = leadership
        self.leader_role = role
        role.on_change = self._leadership_changed
        role.on_error = self.metrics.ledger.error
        if leadership is not None:
            self.metrics.ledger.set_leader(False, change=False)
            self.runs.takeover = TakeoverRetries(self.scheduler.run_soon, self.clock)

    def _leadership_changed(self, leader: bool) -> None:
        """Leading now: resume what the last leader left and catch up, as a restarted
        single instance does. Standby now: running jobs stop at their next step."""
        self.metrics.ledger.set_leader(leader)
        systemd.status(("leader" if leader else "standby") + f": {len(self.config.vms)} VM(s)")
        if leader and self._started and not self.stop_event.is_set():
            # The other replica's successes while this one stood by, then the runs it owes.
            remember_successes(self.runtime.ledger, self.metrics, self.fleet.urgency)
            resuming = schedule_resumes(self.runtime.ledger, self.scheduler, self.config.vms)
            catch_up = CatchUp(self.runtime.ledger, self.scheduler, resuming, self.clock.now())
            for policy in self.config.vms:
                # No fresh look at the snapshot here: each run's pre-flight decides.
                catch_up(policy, None, known=False)
