"""What the daemon does once at start: the resumes it owes, the RPO gauges (also on taking
the lead), the start report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import structlog

from snapd import __version__
from snapd.config import Config, VirtualMachinePolicy
from snapd.config.durations import format_duration
from snapd.config.masking import mask_url
from snapd.config.rpo import recovery_point_objective
from snapd.daemon.catch_up import CatchUpScheduler
from snapd.daemon.scheduler import RunPurpose, SlotScheduler
from snapd.ledger import Ledger
from snapd.metrics import Metrics
from snapd.pipeline.urgency import Urgency

log = structlog.get_logger("snapd.daemon")


def schedule_resumes(
    ledger: Ledger, scheduler: CatchUpScheduler, policies: Sequence[VirtualMachinePolicy]
) -> set[int]:
    """Resume each pending action at once; return the VMs being resumed.

    Every other VM is looked at by the inventory's first pass (see ``CatchUp``), paced
    within the request budget rather than all at once.
    """
    known = {policy.id for policy in policies}
    resuming = set()
    for item in ledger.pending():
        if item.virtual_machine_id not in known:
            continue
        log.info("resume_scheduled", vm=item.virtual_machine_id, action_id=item.action_id)
        scheduler.run_soon(item.virtual_machine_id, item.slot, RunPurpose.RESUME)
        resuming.add(item.virtual_machine_id)
    return resuming


def publish_policies(metrics: Metrics, policies: Sequence[VirtualMachinePolicy]) -> None:
    """Export each VM's recovery point objective, and its account as a label of its
    series when the policy has ``accounts`` (only then is a VM's account not "")."""
    metrics.set_accounts({policy.id: policy.account for policy in policies if policy.account})
    for policy in policies:
        rpo = recovery_point_objective(policy)
        metrics.set_policy_rpo(policy.id, rpo.total_seconds() if rpo else None)


def log_start(
    config_path: Path, config: Config, scheduler: SlotScheduler, metrics_url: str, dry_run: bool
) -> None:
    """The start report: version and effective settings (token masked), one line per VM."""
    log.info(
        "started",
        version=__version__,
        config=str(config_path),
        vms=len(config.vms),
        base_url=mask_url(config.api.base_url),
        token="***",
        requests_per_minute=config.api.requests_per_minute,
        metrics=metrics_url + "/metrics",
        state_dir=str(config.state_dir),
        dry_run=dry_run,
    )
    for policy in config.vms:
        log.info(
            "watching",
            vm=policy.id,
            name=policy.name,
            schedule=policy.schedule,
            timezone=policy.timezone,
            min_age=format_duration(policy.min_age),
            next_run=scheduler.next_run(policy.id),
        )


def remember_successes(ledger: Ledger, metrics: Metrics, urgency: Urgency) -> None:
    """Each VM's last success from the ledger, into the RPO gauges and the slots' order."""
    successes = ledger.last_successes()
    metrics.restore_last_successes(successes)
    urgency.remember(successes)


def restore_from_ledger(
    ledger: Ledger,
    metrics: Metrics,
    urgency: Urgency,
    policies: Sequence[VirtualMachinePolicy],
    now: datetime,
) -> None:
    """At start: the VMs' series, their last successes, holds and published policies."""
    metrics.register_vms(policy.id for policy in policies)
    remember_successes(ledger, metrics, urgency)
    held = {hold.virtual_machine_id for hold in ledger.holds(now)}
    for policy in policies:
        metrics.set_hold(policy.id, policy.id in held)
    publish_policies(metrics, policies)
