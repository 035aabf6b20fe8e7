"""One slot for one VM: pre-flight, decide, create, wait, verify, record. No scheduling.

The engine receives everything it touches (API client, ledger, lock, clock, observer,
hook runners), so tests drive it against the fake API with a manual clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import structlog

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.creating import SendFailed, find_started_action, send_once
from snapd.hooks import HookResult, hook_environment, run_health_check, run_hook
from snapd.hostinger import ApiError, AuthenticationError, HostingerClient
from snapd.ledger import Ledger, PendingAction
from snapd.locks import VirtualMachineBusyError, VirtualMachineLocks
from snapd.outcome import NullOutcomeObserver, Outcome, OutcomeObserver, Result, SnapshotState
from snapd.policy import Action, Decision, Facts, Reason, decide
from snapd.preflight import collect_facts, guards_of, read_virtual_machine
from snapd.recording import Recorder
from snapd.verifying import replaced_snapshot, verify
from snapd.waiting import PollSettings, wait_for_action

log = structlog.get_logger("snapd.engine")


class Engine:
    """Runs the guarded pipeline; safe to call from many threads for different VMs."""

    def __init__(
        self,
        client: HostingerClient,
        ledger: Ledger,
        locks: VirtualMachineLocks,
        clock: Clock,
        *,
        observer: OutcomeObserver | None = None,
        poll: PollSettings | None = None,
        health_check: Callable[..., HookResult] = run_health_check,
        hook_runner: Callable[..., HookResult] = run_hook,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.locks = locks
        self.clock = clock
        self.observer = observer or NullOutcomeObserver()
        self.recorder = Recorder(ledger, clock, self.observer)
        self.poll = poll or PollSettings()
        self.health_check = health_check
        self.hook_runner = hook_runner
        self.should_stop = should_stop

    def run_slot(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        *,
        dry_run: bool = False,
        force: bool = False,
    ) -> Outcome:
        """Run the pipeline for ``policy``'s VM and ``slot``; never raises for API trouble."""
        started = self.clock.now()
        try:
            with self.locks.hold(policy.id, "snapshot", started):
                return self._run_locked(policy, slot, started, dry_run=dry_run, force=force)
        except VirtualMachineBusyError as error:
            return self._finish(
                policy,
                slot,
                started,
                Result.SKIPPED,
                Reason.OPERATION_IN_PROGRESS,
                str(error),
                record=False,
            )

    def _run_locked(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        started: datetime,
        *,
        dry_run: bool,
        force: bool,
    ) -> Outcome:
        pending = self.ledger.pending_for(policy.id)
        if pending is not None and not dry_run:
            try:
                pending = self._settle_intent(pending)
            except ApiError as error:
                detail = f"cannot tell whether an earlier create was sent: {error}"
                return self._failed(
                    policy, slot, started, "api_error", detail, error.correlation_id
                )
        if pending is not None and not dry_run:
            log.info("resuming_pending_action", vm=policy.id, action_id=pending.action_id)
            return self.resume(policy, pending)
        busy_deadline = started + policy.busy_timeout
        delay = 2.0
        while True:
            try:
                preflight = read_virtual_machine(self.client, self.observer, policy.id)
            except ApiError as error:
                if self.should_stop():
                    return self._finish(
                        policy, slot, started, Result.INTERRUPTED, "interrupted",
                        f"stopping during pre-flight: {error}", dry_run=dry_run, record=False,
                    )  # fmt: skip
                reason = (
                    "authentication_failed"
                    if isinstance(error, AuthenticationError)
                    else "api_error"
                )
                detail = f"pre-flight failed: {error}"
                return self._failed(
                    policy, slot, started, reason, detail, error.correlation_id, dry_run=dry_run
                )
            facts = collect_facts(
                self.ledger, policy, slot, preflight, self.clock.now(), force=force
            )
            decision = decide(facts, guards_of(policy))
            if decision.action is not Action.DEFER:
                break
            log.info("decision", vm=policy.id, slot=slot, decision="defer", reason=decision.reason)
            if dry_run or self.should_stop():
                # A rehearsal does not wait for the VM; a stopping process must not.
                return self._finish(
                    policy,
                    slot,
                    started,
                    Result.SKIPPED if dry_run else Result.INTERRUPTED,
                    decision.reason,
                    decision.detail,
                    old=preflight.snapshot,
                    dry_run=dry_run,
                    record=dry_run,
                )
            if (busy_deadline - self.clock.now()).total_seconds() < delay:
                return self._finish(
                    policy,
                    slot,
                    started,
                    Result.FAILED,
                    "busy_timeout",
                    "the VM stayed busy for busy_timeout",
                    old=preflight.snapshot,
                    dry_run=dry_run,
                )
            self.clock.sleep(delay)
            delay = min(delay * 2, 60.0)
        if decision.creates:
            decision = self._checks(policy, slot, facts, dry_run)
        log.info(
            "decision",
            vm=policy.id,
            slot=slot,
            decision=decision.action.value,
            reason=decision.reason.value,
            detail=decision.detail,
            dry_run=dry_run,
        )
        if not decision.creates:
            result = Result.DRY_RUN if decision.reason is Reason.DRY_RUN else Result.SKIPPED
            return self._finish(
                policy,
                slot,
                started,
                result,
                decision.reason,
                decision.detail,
                old=preflight.snapshot,
                dry_run=dry_run,
            )
        return self._create(policy, slot, started, preflight.snapshot)

    def _settle_intent(self, pending: PendingAction) -> PendingAction | None:
        """An intent left by a process that died while sending: adopt its action or drop it.

        Raises ``ApiError`` when the action list cannot be read (the intent then stays).
        """
        if pending.action_id is not None:
            return pending
        found = find_started_action(
            self.client, pending.virtual_machine_id, pending.kind, pending.started_at
        )
        if found is None:
            log.info("unsent_create_forgotten", vm=pending.virtual_machine_id)
            self.ledger.remove_pending(pending.virtual_machine_id, None)
            return None
        adopted = replace(pending, action_id=found.id)
        self.ledger.add_pending(adopted)
        log.info("action_adopted", vm=pending.virtual_machine_id, action_id=found.id)
        return adopted

    def _checks(
        self, policy: VirtualMachinePolicy, slot: datetime | None, facts: Facts, dry_run: bool
    ) -> Decision:
        """Run the health check and (outside dry-run) the pre-hook; decide again."""
        health_ok = None
        if policy.health_check is not None:
            health_ok = self.health_check(policy.health_check).ok
        pre_hook_ok = None
        if policy.pre_hook is not None and not dry_run and health_ok is not False:
            pre_hook_ok = self.hook_runner(policy.pre_hook, hook_environment(policy.id, slot)).ok
        checked = replace(facts, health_ok=health_ok, pre_hook_ok=pre_hook_ok, dry_run=dry_run)
        return decide(checked, guards_of(policy))

    def _create(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        started: datetime,
        old: SnapshotState | None,
    ) -> Outcome:
        attempt_started = self.clock.now()
        # Written before sending: a crash between the POST and its answer leaves an intent
        # that the next run resolves from the action list instead of posting again.
        intent = PendingAction(
            virtual_machine_id=policy.id,
            action_id=None,
            kind="snapshot",
            slot=slot,
            started_at=attempt_started,
            old_snapshot_id=old.id if old else None,
            old_snapshot_created_at=old.created_at if old else None,
        )
        self.ledger.add_pending(intent)
        try:
            sent = send_once(
                self.client,
                self.clock,
                policy.id,
                "snapshot",
                attempt_started,
                started + policy.busy_timeout,
                self.should_stop,
            )
        except SendFailed as error:
            if error.reason != "ambiguous":
                self.ledger.remove_pending(policy.id, None)  # certainly not executed
            if error.reason == "interrupted":
                # Nothing was sent: not an attempt, nothing to record; the next start decides.
                return self._finish(
                    policy, slot, started, Result.INTERRUPTED, error.reason, error.detail,
                    old=old, record=False,
                )  # fmt: skip
            return self._failed(
                policy, slot, started, error.reason, error.detail, error.correlation_id, old=old
            )
        pending = replace(intent, action_id=sent.action.id)
        self.ledger.add_pending(pending)
        log.info(
            "snapshot_requested",
            vm=policy.id,
            slot=slot,
            action_id=sent.action.id,
            adopted=sent.adopted,
        )
        return self._wait_and_verify(policy, pending, started)

    def resume(self, policy: VirtualMachinePolicy, pending: PendingAction) -> Outcome:
        """Wait for an action a previous process started; never post again."""
        return self._wait_and_verify(policy, pending, pending.started_at)

    def _wait_and_verify(
        self, policy: VirtualMachinePolicy, pending: PendingAction, started: datetime
    ) -> Outcome:
        old = replaced_snapshot(pending)
        action_id = pending.action_id
        if action_id is None:
            raise ValueError("an intent must be settled before waiting")
        waited = wait_for_action(
            self.client,
            self.clock,
            policy.id,
            action_id,
            pending.started_at + policy.action_timeout,
            settings=self.poll,
            previous_seconds=self.ledger.last_action_seconds(policy.id),
            should_stop=self.should_stop,
        )
        if waited.state == "stopped":
            return self._finish(
                policy, pending.slot, started, Result.INTERRUPTED, "interrupted", waited.detail,
                action_id=pending.action_id, old=old, record=False,
            )  # fmt: skip
        verdict = verify(self.client, self.observer, pending, waited)
        self.ledger.remove_pending(policy.id, pending.action_id)
        return self._finish(
            policy, pending.slot, started, verdict.result, verdict.reason, verdict.detail,
            old=old, new=verdict.new_snapshot, action_id=pending.action_id,
        )  # fmt: skip

    def _failed(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        started: datetime,
        reason: str,
        detail: str,
        correlation_id: str | None,
        *,
        old: SnapshotState | None = None,
        dry_run: bool = False,
    ) -> Outcome:
        """A failed attempt; a refused token also marks the API as unusable (not ready)."""
        if reason == "authentication_failed":
            self.observer.api_unauthorized()
        return self._finish(
            policy, slot, started, Result.FAILED, reason, detail,
            old=old, correlation_id=correlation_id, dry_run=dry_run,
        )  # fmt: skip

    def _finish(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        started: datetime,
        result: Result,
        reason: str,
        detail: str,
        **details: Any,
    ) -> Outcome:
        """Record the outcome, then run the post-hook (never in dry-run)."""
        outcome = self.recorder.finish(
            policy, "snapshot", slot, started, result, reason, detail, **details
        )
        if policy.post_hook is not None and not outcome.dry_run:
            environment = hook_environment(policy.id, outcome.slot, outcome.result.value)
            self.hook_runner(policy.post_hook, environment)
        return outcome
