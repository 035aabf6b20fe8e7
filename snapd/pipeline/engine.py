"""One slot for one VM: pre-flight, decide, checks, decide again, create. No scheduling.

The engine receives everything it touches (API client, ledger, lock, clock, observer,
hook runners), so tests drive it against the fake API with a manual clock. The look at
the VM is :class:`~snapd.pipeline.look.IdleLook`'s, the checks before the create are in
``slot_checks``, a slot that ends before a send :class:`~snapd.pipeline.slot_end.SlotEnd`'s.
Sending, waiting, verifying and recording are
:class:`~snapd.pipeline.attempt.AttemptRunner`'s, shared with the operator's restore and
delete.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime

import structlog
from structlog.contextvars import bound_contextvars

from snapd.checks.hooks import HookResult, run_health_check, run_hook
from snapd.clock import Clock
from snapd.config import HealthCheck, HookCommand, VirtualMachinePolicy
from snapd.hostinger import ApiError, HostingerClient
from snapd.ledger import Ledger, OperationKind
from snapd.ledger.locks import (
    LockUnavailableError,
    VirtualMachineBusyError,
    VirtualMachineLocks,
)
from snapd.pipeline.attempt import AttemptRunner
from snapd.pipeline.attempt_terms import ActionWaiter, AttemptContext
from snapd.pipeline.decide import Decision, Facts, Reason
from snapd.pipeline.fleet_view import FleetView
from snapd.pipeline.later import Later
from snapd.pipeline.look import IdleLook
from snapd.pipeline.outcome import (
    NullOutcomeObserver,
    Outcome,
    OutcomeObserver,
    OutcomeReason,
    Result,
    failure_reason,
)
from snapd.pipeline.preflight import Preflight
from snapd.pipeline.recheck import CreateRecheck
from snapd.pipeline.slot_checks import decide_before_create, run_checks
from snapd.pipeline.slot_end import SlotEnd
from snapd.pipeline.wait import PollSettings

log = structlog.get_logger("snapd.engine")

KIND = OperationKind.SNAPSHOT


class Engine:
    """Runs the guarded pipeline; safe to call from many threads for different VMs."""

    def __init__(  # noqa: PLR0913 - optional collaborators and settings, each with a default
        self,
        client: HostingerClient,
        ledger: Ledger,
        locks: VirtualMachineLocks,
        clock: Clock,
        *,
        observer: OutcomeObserver | None = None,
        poll: PollSettings | None = None,
        health_check: Callable[[HealthCheck], HookResult] = run_health_check,
        hook_runner: Callable[[HookCommand, Mapping[str, str]], HookResult] = run_hook,
        should_stop: Callable[[], bool] = lambda: False,
        fleet: FleetView | None = None,
    ) -> None:
        self.client = client
        # One list call answers for every VM whose pre-flight runs within a few seconds.
        self.fleet = fleet if fleet is not None else FleetView(client, clock)
        self.ledger = ledger
        self.locks = locks
        self.clock = clock
        self.observer = observer or NullOutcomeObserver()
        self.attempts = AttemptRunner(
            client,
            ledger,
            clock,
            self.observer,
            poll=poll or PollSettings(),
            should_stop=should_stop,
        )
        self.recorder = self.attempts.recorder
        self.health_check = health_check
        self.hook_runner = hook_runner
        self.end = SlotEnd(
            self.recorder, self.observer, lambda hook, env: self.hook_runner(hook, env)
        )
        self.look = IdleLook(
            client, ledger, self.observer, self.fleet, clock,
            lambda: self.should_stop(), self.end,
        )  # fmt: skip

    @property
    def should_stop(self) -> Callable[[], bool]:
        """Asked before every step that could wait or send: True when the process stops."""
        return self.attempts.should_stop

    @should_stop.setter
    def should_stop(self, value: Callable[[], bool]) -> None:
        self.attempts.should_stop = value

    def start_slot(
        self,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        waiter: ActionWaiter | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
    ) -> Later[Outcome]:
        """Run the pipeline for ``policy``'s VM and ``slot`` (None: now); a VM's pending
        action is followed to its end first, never sent again. Never raises for API trouble.

        The wait for an accepted action goes to ``waiter`` (the fleet's poller; None: this
        thread waits). Everything up to the send runs on the calling thread; what follows
        the wait (verify, record, the post-hook) runs where ``waiter`` finishes it. The
        VM's lock is held until then, whichever thread that is.
        """
        started = self.clock.now()
        context = AttemptContext(policy, OperationKind.SNAPSHOT, slot, started)
        lock = ExitStack()
        try:
            lock.enter_context(self.locks.hold(policy.id, KIND, started))
        except VirtualMachineBusyError as error:
            return Later.of(
                self.end.finish(
                    context, Result.SKIPPED, Reason.OPERATION_IN_PROGRESS, str(error), record=False
                )
            )
        except LockUnavailableError as error:
            # The lock could not be asked for (its database or a session of the pool is
            # missing): nothing runs, but the slot fails visibly, recorded and counted.
            detail = f"the VM's lock could not be taken: {error}"
            return Later.of(
                self.end.finish(context, Result.FAILED, OutcomeReason.LOCK_UNAVAILABLE, detail)
            )
        except OSError as error:  # fail closed: without the lock nothing may be sent
            return Later.of(self.end.lock_failed(context, error))
        try:  # every line logged on the way names the VM, the API's debug lines included
            with bound_contextvars(vm=policy.id):
                outcome = self._run_locked(context, waiter, dry_run=dry_run, force=force)
        except BaseException:
            lock.close()
            raise
        return outcome.always(lock.close)

    def _resume(
        self, policy: VirtualMachinePolicy, waiter: ActionWaiter | None
    ) -> Later[Outcome] | None:
        pending = self.ledger.pending_for(policy.id)
        if pending is None:
            return None
        log.info("resuming_pending_action", vm=policy.id, action_id=pending.action_id)
        kind = OperationKind(pending.kind)
        context = AttemptContext(policy, kind, pending.slot, pending.started_at)
        outcome = self.attempts.follow_later(context, pending, waiter)
        return outcome.then(lambda done: self.end.after(done, policy))

    def _run_locked(
        self,
        context: AttemptContext,
        waiter: ActionWaiter | None,
        *,
        dry_run: bool,
        force: bool,
    ) -> Later[Outcome]:
        if not dry_run:
            pending = self.ledger.pending_for(context.policy.id)
            resumed = self._resume(context.policy, waiter)
            if resumed is not None:
                if context.slot is None or pending is None or pending.slot == context.slot:
                    return resumed
                # An earlier slot's action was left pending (a stall, a restart): follow it
                # to its end, then this slot still runs, on fresh facts.
                return resumed.then_later(
                    lambda done: self._after_resume(done, context, waiter, force=force)
                )
        return self._decide_and_send(context, waiter, dry_run=dry_run, force=force)

    def _after_resume(
        self, resumed: Outcome, context: AttemptContext, waiter: ActionWaiter | None, *, force: bool
    ) -> Later[Outcome]:
        """This slot's run after an earlier slot's pending action ended; none while that
        action's end is still unknown (its row stays) or the process stops."""
        if resumed.result is Result.INTERRUPTED or self.ledger.pending_for(context.policy.id):
            return Later.of(resumed)
        fresh = replace(context, started=self.clock.now())
        return self._decide_and_send(fresh, waiter, dry_run=False, force=force)

    def _decide_and_send(
        self,
        context: AttemptContext,
        waiter: ActionWaiter | None,
        *,
        dry_run: bool,
        force: bool,
    ) -> Later[Outcome]:
        looked = self.look(context, dry_run=dry_run, force=force)
        if isinstance(looked, Outcome):
            return Later.of(looked)
        preflight, facts, decision = looked
        if decision.creates:
            decision, facts = run_checks(
                context.policy, context.slot, facts, dry_run, self.health_check, self.hook_runner
            )
            if decision.creates:
                try:
                    decision, preflight = self._recheck(context, preflight, facts, force)
                except ApiError as error:
                    detail = f"the snapshot could not be read again before the create: {error}"
                    reason = failure_reason(error)
                    return Later.of(self.end.failed(context, reason, detail, error.correlation_id))
        (log.warning if decision.reason is Reason.CREATE_UNHEALTHY else log.info)(
            "decision",
            vm=context.policy.id,
            slot=context.slot,
            decision=decision.action.value,
            reason=decision.reason.value,
            detail=decision.detail,
            dry_run=dry_run,
        )
        if not decision.creates:
            result = Result.DRY_RUN if decision.reason is Reason.DRY_RUN else Result.SKIPPED
            skipped = self.end.finish(
                context, result, decision.reason, decision.detail,
                old=preflight.snapshot, dry_run=dry_run,
            )  # fmt: skip
            return Later.of(skipped)
        recheck = CreateRecheck(
            self.client, self.ledger, self.clock, self.observer,
            context.policy, context.slot, facts, force,
        )  # fmt: skip
        context = replace(context, unhealthy=decision.reason is Reason.CREATE_UNHEALTHY)
        sent = self.attempts.start_later(context, preflight.snapshot, waiter, recheck)
        return sent.then(lambda outcome: self.end.after(outcome, context.policy))

    def _recheck(
        self, context: AttemptContext, preflight: Preflight, facts: Facts, force: bool
    ) -> tuple[Decision, Preflight]:
        return decide_before_create(
            self.client, self.ledger, self.observer, self.clock,
            context.slot, context.policy, preflight, facts, force=force,
        )  # fmt: skip
