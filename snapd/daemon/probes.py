"""The daemon's answers to its probes: /healthz and the watchdog (alive), /readyz (ready).

A mixin of :class:`~snapd.daemon.daemon.Daemon`: it reads the daemon's state, never
changes it (but for which wedged jobs were already reported).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import structlog

from snapd.daemon.jobs import RunningJobs, liveness
from snapd.daemon.leader import LeaderRole
from snapd.daemon.state_probe import StateDirectoryProbe
from snapd.metrics import Metrics

if TYPE_CHECKING:
    from snapd.ledger.leadership import Leadership

log = structlog.get_logger("snapd.daemon")


class DaemonProbes:
    """Liveness and readiness of a daemon, from the attributes the daemon sets."""

    stop_event: threading.Event
    metrics: Metrics
    state_probe: StateDirectoryProbe
    leader_role: LeaderRole
    leadership: Leadership | None
    _started: bool
    _wedged_reported: set[int]

    @property
    def jobs(self) -> RunningJobs:
        raise NotImplementedError  # the daemon's

    def liveness(self) -> tuple[bool, str]:
        """/healthz's question: the watchdog's check, without its log line."""
        return liveness(self.stop_event.is_set(), self.jobs.wedged())

    def healthy(self) -> bool:
        """The watchdog's question: running, and no job far past its bound?"""
        if self.stop_event.is_set():
            return False
        wedged = set(self.jobs.wedged())
        for virtual_machine_id in wedged - self._wedged_reported:
            log.error("job_wedged", vm=virtual_machine_id, detail="watchdog pings stop")
        self._wedged_reported = wedged
        return not wedged

    def readiness(self) -> tuple[bool, str]:
        """/readyz: ready while the scheduler runs, the API accepts the token and
        ``state_dir`` can be written."""
        if self.stop_event.is_set():
            return False, "stopping"
        if not self._started:
            return False, "starting"
        if not self.metrics.authentication_ok:
            return False, "the API refused the token"
        state_problem = self.state_probe.problem()
        if state_problem is not None:
            return False, state_problem
        if not self.leader_role.is_leader():
            # Healthy and ready to take over: a probe must not restart or remove it.
            return True, self.leadership.standby_reason() if self.leadership else "standby"
        return True, "ready" if self.leadership is None else "ready: leader"
