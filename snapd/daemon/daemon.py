"""``snapd run``: the long-running service around the pipeline.

Start: open the ledger, restore metrics from it, serve /metrics, add a job per VM, resume
pending actions, then look at the fleet once (paced, after readiness) and catch up on a
missed slot. Then wait for signals: SIGHUP reloads the policy (``reload``), SIGTERM and
SIGINT stop taking new slots, let a create being sent finish, leave waits pending in the
ledger and exit 0. A job may fail; the daemon may not. The probes' answers are in
``probes``, the leadership's changes in ``leading``.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from snapd.clock import SystemClock
from snapd.config import Config, VirtualMachinePolicy
from snapd.daemon import systemd
from snapd.daemon.catch_up import CatchUp
from snapd.daemon.inventories import InventoryParts, start_inventories
from snapd.daemon.jobs import RunningJobs
from snapd.daemon.leader import LEADERSHIP_UNCONFIRMED, LeaderRole
from snapd.daemon.leading import FollowsLeadership
from snapd.daemon.parts import DaemonParts, DaemonSettings
from snapd.daemon.probes import DaemonProbes
from snapd.daemon.reload import PolicyReload
from snapd.daemon.runs import SlotRuns
from snapd.daemon.scheduler import RunPurpose
from snapd.daemon.signals import signal_handlers
from snapd.daemon.startup import log_start, restore_from_ledger, schedule_resumes
from snapd.daemon.state_probe import StateDirectoryProbe
from snapd.daemon.status_address import FleetStatus
from snapd.metrics import MetricsServer
from snapd.pipeline.accounts import SlotRunner

if TYPE_CHECKING:
    from snapd.ledger.leadership import Leadership

log = structlog.get_logger("snapd.daemon")

NOTIFY_CLOSE_SECONDS = 1.0  # the last outcomes' notifications, within the stop bound


class Daemon(DaemonProbes, PolicyReload, FollowsLeadership):
    """One daemon process; ``run()`` blocks until a stop signal and returns the exit code."""

    def __init__(
        self, config_path: Path, config: Config, parts: DaemonParts, settings: DaemonSettings
    ) -> None:
        self.config_path = config_path
        self.config = config
        self.settings = settings
        self.overrides = settings.overrides
        self.dry_run = settings.dry_run
        self.runtime = parts.runtime
        self.metrics = parts.services.metrics
        self.notifier = parts.services.notifier
        self.budget = parts.services.budget  # the first account's
        self.budgets = list(parts.services.budgets.values()) or [self.budget]
        self.observer = parts.observer
        self.scheduler = parts.scheduler
        self.scheduler.bind(self._run_slot)
        self.policies = parts.policies
        self.stop_event = parts.stop_event
        self.signals = parts.signals
        self.instance_lock = parts.instance_lock
        self.clock = self.runtime.clock
        self.metrics_host = settings.metrics_host or config.metrics.host
        self.metrics_port = (
            settings.metrics_port if settings.metrics_port is not None else config.metrics.port
        )
        self.runs = SlotRuns(
            parts.fleet,
            self.notifier,
            self.metrics,
            self.stop_event,
            self._publish_next_run,
            dry_run=self.dry_run,
        )
        self.unfinished = 0  # jobs still running when the stop bound ran out
        self._wedged_reported: set[int] = set()
        self._started = False
        self.server: MetricsServer | None = None
        self.fleet_status = FleetStatus(
            config.state_dir, lambda: self.config.vms, self.metrics, self.clock
        )
        self.leadership: Leadership | None = None
        self.leader_role = LeaderRole()
        self.state_probe = StateDirectoryProbe(config.state_dir, self.clock)

    @property
    def jobs(self) -> RunningJobs:
        """The VMs with a run in progress, from queued to recorded."""
        return self.runs.jobs

    @property
    def fleet(self) -> SlotRunner:
        """The workers and the poller the runs go to."""
        return self.runs.fleet

    # -- lifecycle ---------------------------------------------------------------------

    def run(
        self, run_for: float | None = None, announce: Callable[[str], None] | None = None
    ) -> int:
        """Start, serve until stopped (or for ``run_for`` seconds), stop; return 0.

        ``announce`` receives the metrics server's base URL once it listens. Signals are
        handled from the first moment: one that arrives during start-up is acted on as soon
        as the daemon is up (a stop then stops it at once).
        """
        with signal_handlers(self.signals):
            self._run(run_for, announce)
        return 0

    def _run(self, run_for: float | None, announce: Callable[[str], None] | None) -> None:
        try:
            self.server = MetricsServer(
                self.metrics,
                self.metrics_host,
                self.metrics_port,
                ready=self.readiness,
                status=self.fleet_status,
                live=self.liveness,
            )
            self.server.start()
            self.fleet_status.publish(self.server.url)
            if announce is not None:
                announce(self.server.url)
            restore_from_ledger(
                self.runtime.ledger, self.metrics, self.fleet.urgency, self.config.vms,
                self.clock.now(),
            )  # fmt: skip
            if self.leadership is not None:
                self.leadership.start()
            self.scheduler.start(self.config.vms)
            self._started = True
            self._publish_next_runs()
            log_start(self.config_path, self.config, self.scheduler, self.server.url, self.dry_run)
            resuming = schedule_resumes(self.runtime.ledger, self.scheduler, self.config.vms)
            self._start_inventory(resuming)
            self.metrics.config_reloaded(True, self.clock.now())
            systemd.ready(f"watching {len(self.config.vms)} virtual machine(s)")
            watchdog = systemd.Watchdog(self.healthy)
            watchdog.start()
            try:
                self._main_loop(run_for)
            finally:
                watchdog.stop()
        finally:
            self._stop()

    def _main_loop(self, run_for: float | None) -> None:
        # run_for is real seconds whatever the daemon's clock (the demo's --run-for, a
        # bench's safety bound on a stepped clock), so it is measured on the system clock.
        real = SystemClock()
        deadline = None if run_for is None else real.monotonic() + run_for
        while True:
            timeout = 1.0 if deadline is None else max(0.0, min(1.0, deadline - real.monotonic()))
            try:
                command = self.signals.get(timeout=timeout)
            except queue.Empty:
                if deadline is not None and real.monotonic() >= deadline:
                    log.info("run_time_elapsed")
                    return
                continue
            if command == "reload":
                self.reload()
            elif command == "stop":
                return

    def _stop(self) -> None:
        stop_timeout = self.config.stop_timeout.total_seconds()
        log.info("stopping", stop_timeout_seconds=stop_timeout)
        systemd.stopping("stopping: pending actions stay recorded")
        self.stop_event.set()
        for budget in self.budgets:
            budget.close()  # requests queued behind a budget give up at once
        if self._started:
            self.scheduler.shutdown()
        self.fleet.close()  # waits end as "stopped"; queued slots see the stop and end
        self.unfinished = self.jobs.wait_idle(stop_timeout)
        if self.leadership is not None:
            self.leadership.stop()
        self.notifier.close(NOTIFY_CLOSE_SECONDS)
        if self.server is not None:
            self.fleet_status.withdraw()
            self.server.stop()
        if not self.unfinished:
            # A job stuck in a request still uses the client and the ledger; the process
            # exit that follows releases them.
            self.runtime.close()
            if self.instance_lock is not None:
                self.instance_lock.release()
        log.info("stopped", unfinished_runs=self.unfinished)

    def request_stop(self) -> None:
        """Ask the main loop to stop (what SIGTERM does)."""
        self.signals.put("stop")

    def policy(self, virtual_machine_id: int) -> VirtualMachinePolicy | None:
        return self.policies.get(virtual_machine_id)

    def _run_slot(
        self, virtual_machine_id: int, slot: datetime | None, purpose: RunPurpose
    ) -> None:
        """A job: queue the pipeline on the workers; its wait goes to the poller.

        The VM counts as running (coalescing, the watchdog, the stop's wait) from here
        until its outcome is recorded. Failures are logged and counted, never escape.
        """
        policy = self.policy(virtual_machine_id)
        if policy is None or self.stop_event.is_set():
            return
        if not self.leader_role.is_leader():
            reason = self.leader_role.not_leading_reason()
            self.metrics.ledger.slot_skipped(reason)
            # A stalled leader skips a slot it owes: say so loudly. A standby skips every
            # slot by design: the leader runs it.
            report = log.warning if reason == LEADERSHIP_UNCONFIRMED else log.info
            report("slot_skipped_not_leader", vm=virtual_machine_id, slot=slot,
                   purpose=purpose, reason=reason)  # fmt: skip
            return
        self.runs.submit(policy, slot, purpose)

    def _start_inventory(self, resuming: set[int]) -> None:
        """The periodic inventory of each account; its first pass is the start-up look
        (catch-up)."""
        startup = CatchUp(self.runtime.ledger, self.scheduler, resuming, self.clock.now())
        listeners = InventoryParts(self.observer, self.metrics, self.fleet_status.machines,
                                   self.stop_event, self.scheduler, self.clock)  # fmt: skip
        start_inventories(lambda: self.config, self.runtime.connections, listeners, startup,
                          self.settings.inventory_every)  # fmt: skip
