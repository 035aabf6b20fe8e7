"""What runs between a slot's decision to create and the create: checks, a last look.

The health check and (outside dry-run) the pre-hook run, then the guards are asked once
more on a fresh hold and, when the pre-flight is stale, a fresh snapshot: an operator may
have taken a snapshot by hand while the VM was busy or a check ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from snapd.checks.hooks import HookResult, hook_environment
from snapd.clock import Clock
from snapd.config import HealthCheck, HookCommand, VirtualMachinePolicy
from snapd.hostinger import HostingerClient
from snapd.ledger import Ledger
from snapd.pipeline.decide import Decision, Facts, decide
from snapd.pipeline.outcome import OutcomeObserver
from snapd.pipeline.preflight import Preflight, guards_of
from snapd.pipeline.recheck import decide_again, read_snapshot

# A pre-flight older than this is read again right before the create.
RECHECK_AFTER = timedelta(seconds=30)


def run_checks(
    policy: VirtualMachinePolicy,
    slot: datetime | None,
    facts: Facts,
    dry_run: bool,
    health_check: Callable[[HealthCheck], HookResult],
    hook_runner: Callable[[HookCommand, Mapping[str, str]], HookResult],
) -> tuple[Decision, Facts]:
    """Run the health check and (outside dry-run, and only after a passing health check)
    the pre-hook; decide again on what they said. Returns the decision and the facts with
    the checks' results (what a later re-decision carries)."""
    health = pre_hook = None
    if policy.health_check is not None:
        health = health_check(policy.health_check)
    if policy.pre_hook is not None and not dry_run and (health is None or health.ok):
        pre_hook = hook_runner(policy.pre_hook, hook_environment(policy.id, slot))
    failed = next((result for result in (health, pre_hook) if result and not result.ok), None)
    checked = replace(
        facts,
        health_ok=None if health is None else health.ok,
        pre_hook_ok=None if pre_hook is None else pre_hook.ok,
        check_cause=(failed.cause or failed.detail) if failed else "",
        dry_run=dry_run,
    )
    return decide(checked, guards_of(policy)), checked


def decide_before_create(  # noqa: PLR0913 - the engine's collaborators and the slot's facts
    client: HostingerClient,
    ledger: Ledger,
    observer: OutcomeObserver,
    clock: Clock,
    slot: datetime | None,
    policy: VirtualMachinePolicy,
    preflight: Preflight,
    facts: Facts,
    *,
    force: bool,
) -> tuple[Decision, Preflight]:
    """Decide once more right before the create, on a fresh hold and, when the pre-flight
    is stale (checks ran or :data:`RECHECK_AFTER` passed), a fresh snapshot. Raises
    ``ApiError``."""
    ran_checks = policy.health_check is not None or policy.pre_hook is not None
    if ran_checks or clock.now() - facts.now > RECHECK_AFTER:
        snapshot = read_snapshot(client, observer, policy.id)
        preflight = replace(preflight, snapshot=snapshot)
    decision = decide_again(ledger, policy, slot, preflight, facts, clock.now(), force=force)
    return decision, preflight
