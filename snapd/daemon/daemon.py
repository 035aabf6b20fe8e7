"""``snapd run``: the long-running service around the pipeline.

Start: open the ledger, restore metrics from it, serve /metrics, add a job per VM, resume
pending actions, then look at the fleet once (paced, after readiness) and catch up on a
missed slot. Then wait for signals: SIGHUP reloads the
policy (the old one stays if the new one is invalid), SIGTERM and SIGINT stop taking new
slots, let a create being sent finish, leave waits pending in the ledger and exit 0.
A job may fail; the daemon may not.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from snapd.clock import SystemClock
from snapd.config import Config, ConfigError, VirtualMachinePolicy, load_config
from snapd.daemon import systemd
from snapd.daemon.catch_up import CatchUp
from snapd.daemon.inventory import (
    STARTUP_BUDGET_SHARE,
    FleetInventory,
    request_spacing,
    schedule_inventory,
)
from snapd.daemon.jobs import RunningJobs, liveness
from snapd.daemon.leader import LEADERSHIP_UNCONFIRMED, LeaderRole, TakeoverRetries
from snapd.daemon.observer import DaemonObserver
from snapd.daemon.policies import PolicyBook
from snapd.daemon.runs import SlotRuns
from snapd.daemon.scheduler import RunPurpose, SlotScheduler
from snapd.daemon.signals import signal_handlers
from snapd.daemon.startup import log_start, publish_policies, schedule_resumes
from snapd.daemon.state_probe import StateDirectoryProbe
from snapd.daemon.status_address import FleetStatus
from snapd.ledger.locks import StateDirectoryLock
from snapd.metrics import MetricsServer
from snapd.pipeline.fleet import FleetRunner
from snapd.pipeline.workers import DEFAULT_WORKERS
from snapd.runtime import Runtime, Services

if TYPE_CHECKING:
    from snapd.ledger.leadership import Leadership

log = structlog.get_logger("snapd.daemon")

NOTIFY_CLOSE_SECONDS = 1.0  # the last outcomes' notifications, within the stop bound


@dataclass(frozen=True)
class DaemonSettings:
    """How ``snapd run`` was asked to run (its options, not the policy)."""

    dry_run: bool = False
    metrics_host: str | None = None  # default: the policy's metrics.listen
    metrics_port: int | None = None
    inventory_every: timedelta | None = None  # default: from the fleet size and budget
    workers: int = DEFAULT_WORKERS  # threads for pre-flight, send, verify and record


@dataclass
class DaemonParts:
    """What a daemon is built from; ``snapd.daemon.assembly.build_daemon`` makes them."""

    runtime: Runtime
    services: Services
    observer: DaemonObserver
    scheduler: SlotScheduler
    policies: PolicyBook
    stop_event: threading.Event
    signals: queue.Queue[str]
    fleet: FleetRunner  # the workers and the poller, from ``Runtime.fleet``
    instance_lock: StateDirectoryLock | None = None  # one daemon per state_dir


class Daemon:
    """One daemon process; ``run()`` blocks until a stop signal and returns the exit code."""

    def __init__(
        self, config_path: Path, config: Config, parts: DaemonParts, settings: DaemonSettings
    ) -> None:
        self.config_path = config_path
        self.config = config
        self.settings = settings
        self.dry_run = settings.dry_run
        self.runtime = parts.runtime
        self.metrics = parts.services.metrics
        self.notifier = parts.services.notifier
        self.budget = parts.services.budget
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
    def fleet(self) -> FleetRunner:
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
            self._restore_from_ledger()
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
        self.budget.close()  # requests queued behind the budget give up at once
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

    # -- leadership (a shared ledger) ---------------------------------------------------------

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
            successes = self.runtime.ledger.last_successes()
            self.metrics.restore_last_successes(successes)
            self.fleet.urgency.remember(successes)
            resuming = schedule_resumes(self.runtime.ledger, self.scheduler, self.config.vms)
            catch_up = CatchUp(self.runtime.ledger, self.scheduler, resuming, self.clock.now())
            for policy in self.config.vms:
                # No fresh look at the snapshot here: each run's pre-flight decides.
                catch_up(policy, None, known=False)

    def request_stop(self) -> None:
        """Ask the main loop to stop (what SIGTERM does)."""
        self.signals.put("stop")

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

    # -- reload --------------------------------------------------------------------------

    def reload(self) -> bool:
        """Re-read the policy; keep the old one when the new one is invalid."""
        systemd.reloading()
        now = self.clock.now()
        try:
            new = load_config(self.config_path)
        except ConfigError as error:
            for problem in error.problems:
                log.error("reload_rejected", problem=problem)
            self.metrics.config_reloaded(False, now)
            systemd.ready("reload rejected; the previous policy stays in force")
            return False
        for section in ("api", "metrics", "state_dir", "ledger"):
            if getattr(new, section) != getattr(self.config, section):
                log.warning("reload_needs_restart", section=section)
        self.policies.replace(new.vms)
        self.scheduler.replace(new.vms)
        self.metrics.forget_vms({policy.id for policy in new.vms})
        self.metrics.register_vms(policy.id for policy in new.vms)
        self.config = new
        publish_policies(self.metrics, self.config.vms)
        self._publish_next_runs()
        self.metrics.config_reloaded(True, now)
        log.info("reloaded", vms=len(new.vms))
        systemd.ready(f"watching {len(new.vms)} virtual machine(s)")
        return True

    # -- runs ----------------------------------------------------------------------------

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
        """The periodic inventory; its first pass is the start-up look (catch-up)."""
        requests_per_minute = self.config.api.requests_per_minute
        inventory = FleetInventory(
            self.runtime.client,
            self.observer,
            self.metrics,
            lambda: self.config.vms,
            self.stop_event,
            request_spacing(requests_per_minute),
            startup=CatchUp(self.runtime.ledger, self.scheduler, resuming, self.clock.now()),
            startup_spacing=request_spacing(requests_per_minute, STARTUP_BUDGET_SHARE),
            machines=self.fleet_status.machines,
            # The spacing paces real requests against the API's real-time budget: it is
            # waited on the system clock (the default) even when the daemon's is manual.
        )
        schedule_inventory(self.scheduler, inventory, self.config, self.settings.inventory_every)

    def _restore_from_ledger(self) -> None:
        self.metrics.register_vms(policy.id for policy in self.config.vms)
        successes = self.runtime.ledger.last_successes()
        self.metrics.restore_last_successes(successes)
        self.fleet.urgency.remember(successes)
        now = self.clock.now()
        held = {hold.virtual_machine_id for hold in self.runtime.ledger.holds(now)}
        for policy in self.config.vms:
            self.metrics.set_hold(policy.id, policy.id in held)
        publish_policies(self.metrics, self.config.vms)

    def _publish_next_runs(self) -> None:
        for policy in self.config.vms:
            self._publish_next_run(policy.id)

    def _publish_next_run(self, virtual_machine_id: int) -> None:
        self.metrics.set_next_run(virtual_machine_id, self.scheduler.next_run(virtual_machine_id))
