"""One slot for one VM: pre-flight, decide, create, wait, verify, record. No scheduling.

The engine receives everything it touches (API client, ledger, lock, clock, observer,
hook runners), so tests drive it against the fake API with a manual clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from snapd.clock import Clock
from snapd.config import VirtualMachinePolicy
from snapd.creating import SendFailed, send_once
from snapd.hooks import HookResult, hook_environment, run_health_check, run_hook
from snapd.hostinger import ApiError, AuthenticationError, HostingerClient
from snapd.ledger import AttemptRecord, Ledger, PendingAction
from snapd.locks import VirtualMachineBusyError, VirtualMachineLocks
from snapd.outcome import NullOutcomeObserver, Outcome, OutcomeObserver, Result, SnapshotState
from snapd.policy import Action, Decision, Facts, Guards, Reason, decide
from snapd.waiting import PollSettings, is_new_snapshot, snapshot_state, wait_for_action

log = structlog.get_logger("snapd.engine")

WAIT_RESULTS = {"success": Result.SUCCESS, "error": Result.FAILED, "timeout": Result.TIMEOUT}


@dataclass(frozen=True)
class _Preflight:
    state: str
    locked: bool
    snapshot: SnapshotState | None


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
            log.info("resuming_pending_action", vm=policy.id, action_id=pending.action_id)
            return self.resume(policy, pending)
        busy_deadline = started + policy.busy_timeout
        delay = 2.0
        while True:
            try:
                preflight = self._preflight(policy.id)
            except ApiError as error:
                return self._api_failure(policy, slot, started, error, dry_run)
            facts = self._facts(policy, slot, preflight, dry_run=False, force=force)
            decision = decide(facts, _guards(policy))
            if decision.action is not Action.DEFER:
                break
            log.info("decision", vm=policy.id, slot=slot, decision="defer", reason=decision.reason)
            if (busy_deadline - self.clock.now()).total_seconds() < delay or self.should_stop():
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

    def _preflight(self, virtual_machine_id: int) -> _Preflight:
        machine = self.client.get_virtual_machine(virtual_machine_id)
        snapshot = snapshot_state(self.client.get_snapshot(virtual_machine_id))
        self.observer.snapshot_seen(virtual_machine_id, snapshot)
        return _Preflight(machine.state, machine.is_locked, snapshot)

    def _facts(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        preflight: _Preflight,
        *,
        dry_run: bool,
        force: bool,
    ) -> Facts:
        now = self.clock.now()
        snapshot = preflight.snapshot
        hold = self.ledger.active_hold(policy.id, now)
        made_by_snapd = snapshot is not None and self.ledger.made_by_snapd(
            policy.id, snapshot.id, snapshot.created_at
        )
        return Facts(
            now=now,
            virtual_machine_state=preflight.state,
            actions_locked=preflight.locked,
            snapshot_created_at=snapshot.created_at if snapshot else None,
            snapshot_made_by_snapd=made_by_snapd,
            held_until=hold.until if hold else None,
            slot_already_done=slot is not None and self.ledger.slot_succeeded(policy.id, slot),
            dry_run=dry_run,
            force=force,
        )

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
        return decide(checked, _guards(policy))

    def _create(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        started: datetime,
        old: SnapshotState | None,
    ) -> Outcome:
        attempt_started = self.clock.now()
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
            if error.reason == "authentication_failed":
                self.observer.api_unauthorized()
            return self._finish(
                policy,
                slot,
                started,
                Result.FAILED,
                error.reason,
                error.detail,
                old=old,
                correlation_id=error.correlation_id,
            )
        pending = PendingAction(
            virtual_machine_id=policy.id,
            action_id=sent.action.id,
            kind="snapshot",
            slot=slot,
            started_at=attempt_started,
            old_snapshot_id=old.id if old else None,
            old_snapshot_created_at=old.created_at if old else None,
        )
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
        old = (
            SnapshotState(pending.old_snapshot_id, pending.old_snapshot_created_at, None)
            if pending.old_snapshot_id is not None or pending.old_snapshot_created_at
            else None
        )
        waited = wait_for_action(
            self.client,
            self.clock,
            policy.id,
            pending.action_id,
            pending.started_at + policy.action_timeout,
            settings=self.poll,
            previous_seconds=self.ledger.last_action_seconds(policy.id),
            should_stop=self.should_stop,
        )
        if waited.state == "stopped":
            return self._finish(
                policy,
                pending.slot,
                started,
                Result.INTERRUPTED,
                "interrupted",
                waited.detail,
                action_id=pending.action_id,
                old=old,
                record=False,
            )
        result = WAIT_RESULTS.get(waited.state, Result.FAILED)
        reason = {"success": "created", "error": "action_error", "timeout": "action_timeout"}
        new: SnapshotState | None = None
        detail = waited.detail
        if result is Result.SUCCESS:
            try:
                new = snapshot_state(self.client.get_snapshot(policy.id))
                self.observer.snapshot_seen(policy.id, new)
            except ApiError as error:
                detail = f"could not read the snapshot back: {error}"
            if not is_new_snapshot(old, new, pending.started_at):
                result = Result.UNVERIFIED
                detail = "the action succeeded but the snapshot did not change"
        self.ledger.remove_pending(policy.id, pending.action_id)
        return self._finish(
            policy,
            pending.slot,
            started,
            result,
            "unverified"
            if result is Result.UNVERIFIED
            else reason.get(waited.state, "action_error"),
            detail,
            old=old,
            new=new,
            action_id=pending.action_id,
        )

    def _api_failure(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        started: datetime,
        error: ApiError,
        dry_run: bool,
    ) -> Outcome:
        reason = "api_error"
        if isinstance(error, AuthenticationError):
            reason = "authentication_failed"
            self.observer.api_unauthorized()
        return self._finish(
            policy,
            slot,
            started,
            Result.FAILED,
            reason,
            f"pre-flight failed: {error}",
            correlation_id=error.correlation_id,
            dry_run=dry_run,
        )

    def _finish(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        started: datetime,
        result: Result,
        reason: str,
        detail: str,
        *,
        old: SnapshotState | None = None,
        new: SnapshotState | None = None,
        action_id: int | None = None,
        correlation_id: str | None = None,
        dry_run: bool = False,
        record: bool = True,
    ) -> Outcome:
        """Build the outcome and report it (ledger row only when ``record``)."""
        outcome = Outcome(
            virtual_machine_id=policy.id,
            kind="snapshot",
            slot=slot,
            result=result,
            reason=str(reason),
            detail=detail,
            started_at=started,
            finished_at=self.clock.now(),
            action_id=action_id,
            old_snapshot=old,
            new_snapshot=new,
            correlation_id=correlation_id,
            dry_run=dry_run,
        )
        self._report(outcome, policy, record=record)
        return outcome

    def _report(self, outcome: Outcome, policy: VirtualMachinePolicy, *, record: bool) -> None:
        """Ledger row, one log line, metrics, post-hook: in that order."""
        if record:
            self.ledger.record_attempt(attempt_record(outcome))
        quiet = (Result.SUCCESS, Result.SKIPPED, Result.DRY_RUN, Result.INTERRUPTED)
        log_method = log.info if outcome.result in quiet else log.warning
        log_method(
            "snapshot_finished",
            vm=outcome.virtual_machine_id,
            slot=outcome.slot,
            result=outcome.result.value,
            reason=outcome.reason,
            detail=outcome.detail,
            action_id=outcome.action_id,
            correlation_id=outcome.correlation_id,
            seconds=round(outcome.seconds, 3),
            dry_run=outcome.dry_run,
        )
        self.observer.outcome(outcome)
        if policy.post_hook is not None and not outcome.dry_run:
            environment = hook_environment(policy.id, outcome.slot, outcome.result.value)
            self.hook_runner(policy.post_hook, environment)


def _guards(policy: VirtualMachinePolicy) -> Guards:
    return Guards(policy.allowed_states, policy.min_age, policy.protect_manual)


def attempt_record(outcome: Outcome) -> AttemptRecord:
    """The ledger row of an outcome."""
    old, new = outcome.old_snapshot, outcome.new_snapshot
    return AttemptRecord(
        virtual_machine_id=outcome.virtual_machine_id,
        kind=outcome.kind,
        slot=outcome.slot,
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        outcome=outcome.result.value,
        reason=outcome.reason,
        action_id=outcome.action_id,
        old_snapshot_id=old.id if old else None,
        old_snapshot_created_at=old.created_at if old else None,
        new_snapshot_id=new.id if new else None,
        new_snapshot_created_at=new.created_at if new else None,
        correlation_id=outcome.correlation_id,
        dry_run=outcome.dry_run,
    )
