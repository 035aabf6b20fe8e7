"""The daemon's SIGHUP: re-read the policy, keep the old one when the new one is invalid.

A mixin of :class:`~snapd.daemon.daemon.Daemon`; also publishes each VM's next run.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from snapd.clock import Clock
from snapd.config import Config, ConfigError, Overrides, load_config
from snapd.daemon import systemd
from snapd.daemon.policies import PolicyBook
from snapd.daemon.scheduler import SlotScheduler
from snapd.daemon.startup import publish_policies
from snapd.metrics import Metrics

log = structlog.get_logger("snapd.daemon")


class PolicyReload:
    """Reloads the daemon's policy in place; the scheduler and the metrics follow."""

    config_path: Path
    config: Config
    overrides: Overrides  # the command line's values, which win over the reloaded file's
    clock: Clock
    metrics: Metrics
    policies: PolicyBook
    scheduler: SlotScheduler

    def reload(self) -> bool:
        """Re-read the policy; keep the old one when the new one is invalid."""
        systemd.reloading()
        now = self.clock.now()
        try:
            new = load_config(self.config_path, overrides=self.overrides)
        except ConfigError as error:
            for problem in error.problems:
                log.error("reload_rejected", problem=problem)
            self.metrics.config_reloaded(False, now)
            systemd.ready("reload rejected; the previous policy stays in force")
            return False
        for section in ("api", "accounts", "metrics", "state_dir", "ledger"):
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

    def _publish_next_runs(self) -> None:
        for policy in self.config.vms:
            self._publish_next_run(policy.id)

    def _publish_next_run(self, virtual_machine_id: int) -> None:
        self.metrics.set_next_run(virtual_machine_id, self.scheduler.next_run(virtual_machine_id))
