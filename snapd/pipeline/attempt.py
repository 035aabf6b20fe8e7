"""The one path every side effect takes: intent, send once, resolve or wait, judge, record.

Scheduled creates (:mod:`snapd.pipeline.engine`) and the operator's restore and delete
(:mod:`snapd.pipeline.operations`) share it, so each has the same guarantees:

* the intent is in the ledger before the request leaves, so a process killed mid-send
  resumes by looking, never by sending again;
* after an ambiguous send nothing is sent again: the outcome is resolved by observation
  (:mod:`snapd.pipeline.resolve`) until ``action_timeout``, else recorded as ``ambiguous``;
* the pending row stays whenever the action's end is unknown (a stop, a timeout, a
  refused token while polling), and goes in the same transaction that records the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog

from snapd.clock import Clock
from snapd.hostinger import HostingerClient
from snapd.ledger import Ledger, LockLostError, OperationKind, PendingAction
from snapd.pipeline.attempt_terms import ActionWaiter, AttemptContext, R
from snapd.pipeline.later import Later
from snapd.pipeline.outcome import Outcome, OutcomeObserver, OutcomeReason, Result, SnapshotState
from snapd.pipeline.recheck import IntentRecheck
from snapd.pipeline.record import Recorder
from snapd.pipeline.resolve import Resolution, ResolutionState, ResolutionWatch, resolution_verdict
from snapd.pipeline.send import Ambiguous, Recheck, Refusal, SendFailed, SendRefused, send_once
from snapd.pipeline.verify import Verdict, replaced_snapshot, taken_unhealthy, verify
from snapd.pipeline.wait import (
    ActionWatch,
    PollSettings,
    WaitResult,
    WaitState,
    Watch,
    action_seconds,
    wait_for,
)

log = structlog.get_logger("snapd.attempting")


class AttemptRunner:
    """Runs side effects on VMs; safe to call from many threads for different VMs."""

    def __init__(
        self,
        client: HostingerClient,
        ledger: Ledger,
        clock: Clock,
        observer: OutcomeObserver,
        *,
        poll: PollSettings,
        should_stop: Callable[[], bool],
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.clock = clock
        self.observer = observer
        self.recorder = Recorder(ledger, clock, observer)
        self.poll = poll
        self.should_stop = should_stop
        # VM id -> seconds its last successful create took by the API's own timestamps:
        # the ledger's duration also holds pre-flight, hooks, busy waits and outages.
        self.learned_seconds: dict[int, float] = {}

    def start(
        self, context: AttemptContext, old: SnapshotState | None, recheck: Recheck | None = None
    ) -> Outcome:
        """Write the intent, send once, then follow the request to its recorded outcome.

        ``recheck`` is asked before every re-send after a not-executed answer (busy, 429,
        no connection); when it refuses, nothing more is sent and the intent goes.
        """
        return self.start_later(context, old, None, recheck).result()

    def start_later(
        self,
        context: AttemptContext,
        old: SnapshotState | None,
        waiter: ActionWaiter | None,
        recheck: Recheck | None = None,
    ) -> Later[Outcome]:
        """``start``, with the wait for the action handed to ``waiter`` when there is one."""
        policy, vm = context.policy, context.policy.id
        attempt_started = self.clock.now()
        intent = PendingAction(
            virtual_machine_id=vm,
            action_id=None,
            kind=context.kind,
            slot=context.slot,
            started_at=attempt_started,
            old_snapshot_id=old.id if old else None,
            old_snapshot_created_at=old.created_at if old else None,
            server_started_at=self.client.server_now(attempt_started),
        )
        try:
            self.ledger.add_pending(intent)
        except LockLostError as error:
            # Another holder has the VM now: send nothing, and leave its pending row alone.
            verdict = Verdict(Result.FAILED, OutcomeReason.LOCK_LOST, str(error), None, False)
            return Later.of(self._record(context, intent, verdict, None))
        busy_deadline = context.started + policy.busy_timeout
        guard = None if recheck is None else IntentRecheck(self.ledger, intent, recheck)
        try:
            sent = send_once(
                self.client, self.clock, vm, context.kind, busy_deadline, self.should_stop, guard
            )
        except SendRefused as refused:
            return Later.of(self._refused(context, guard.intent if guard else intent, refused))
        except SendFailed as error:
            return Later.of(self._send_failed(context, intent, error))
        intent = guard.intent if guard is not None else intent
        if isinstance(sent, Ambiguous):
            return self.follow_later(context, intent, waiter, sent.correlation_id)
        pending = replace(intent, action_id=sent.action.id)
        self.ledger.add_pending(pending)
        log.info(f"{context.kind}_requested", vm=vm, slot=context.slot, action_id=sent.action.id)
        return self.follow_later(context, pending, waiter)

    def _send_failed(
        self, context: AttemptContext, intent: PendingAction, error: SendFailed
    ) -> Outcome:
        """A send that failed, or was stopped before anything went out (not an attempt:
        nothing is recorded and the next run decides)."""
        interrupted = error.reason == OutcomeReason.INTERRUPTED
        if interrupted:
            self.ledger.remove_pending(intent.virtual_machine_id, None)
        result = Result.INTERRUPTED if interrupted else Result.FAILED
        verdict = Verdict(result, error.reason, error.detail, None)
        return self._record(context, intent, verdict, error.correlation_id, record=not interrupted)

    def follow_later(
        self,
        context: AttemptContext,
        pending: PendingAction,
        waiter: ActionWaiter | None,
        correlation_id: str | None = None,
    ) -> Later[Outcome]:
        """Resolve (an intent) or wait for (an action) ``pending``; judge and record it.

        The looking and waiting go to ``waiter`` when there is one (else this thread waits).

        An intent is first resolved by observation, then its action waited for; both run
        as watches, so after an ambiguous send no worker sleeps either.
        """
        deadline = pending.started_at + context.policy.action_timeout
        if pending.action_id is not None:
            return self._wait(context, pending, deadline, waiter, correlation_id)
        resolved = self._watch(ResolutionWatch(pending, deadline), waiter)

        def adopt(resolution: Resolution) -> Later[Outcome]:
            if resolution.action is None:
                if resolution.state is ResolutionState.UNAUTHORIZED:
                    self.observer.api_unauthorized()
                verdict = resolution_verdict(context.kind, resolution)
                return Later.of(self._record(context, pending, verdict, correlation_id))
            adopted = replace(pending, action_id=resolution.action.id)
            self.ledger.add_pending(adopted)
            log.info("action_adopted", vm=adopted.virtual_machine_id, action_id=adopted.action_id)
            return self._wait(context, adopted, deadline, waiter, correlation_id)

        return resolved.then_later(adopt)

    def _wait(
        self,
        context: AttemptContext,
        pending: PendingAction,
        deadline: datetime,
        waiter: ActionWaiter | None,
        correlation_id: str | None,
    ) -> Later[Outcome]:
        """Wait for ``pending``'s action, then judge and record it."""
        assert pending.action_id is not None
        watch = ActionWatch.begin(
            pending.virtual_machine_id,
            pending.action_id,
            deadline,
            self.poll,
            self._previous_seconds(pending.virtual_machine_id),
        )
        waited = self._watch(watch, waiter)
        return waited.then(lambda result: self._judge(context, pending, result, correlation_id))

    def _watch(self, watch: Watch[R], waiter: ActionWaiter | None) -> Later[R]:
        if waiter is None:
            return Later.of(wait_for(self.client, self.clock, watch, self.should_stop))
        return waiter(watch)

    def _judge(
        self,
        context: AttemptContext,
        pending: PendingAction,
        waited: WaitResult,
        correlation_id: str | None,
    ) -> Outcome:
        """After the wait: verify what the action left and record the outcome."""
        if waited.state is WaitState.UNAUTHORIZED:
            self.observer.api_unauthorized()
        verdict = verify(self.client, self.observer, pending, waited)
        seconds = action_seconds(waited.action)
        creates = context.kind == OperationKind.SNAPSHOT  # only creates time the first poll
        if verdict.result is Result.SUCCESS and creates and seconds is not None:
            self.learned_seconds[pending.virtual_machine_id] = seconds
        return self._record(context, pending, verdict, correlation_id)

    def _previous_seconds(self, virtual_machine_id: int) -> float | None:
        """How long the VM's last create took: as the API timed it when this process saw
        it end, else the ledger's whole attempt (an upper bound) after a restart."""
        learned = self.learned_seconds.get(virtual_machine_id)
        if learned is not None:
            return learned
        return self.ledger.last_action_seconds(virtual_machine_id)

    def _refused(
        self, context: AttemptContext, intent: PendingAction, refused: SendRefused
    ) -> Outcome:
        """A re-send the re-check refused: nothing more was sent; the intent goes (when it
        is still this attempt's) with the recorded outcome."""
        refusal: Refusal = refused.refusal
        if refusal.reason == OutcomeReason.AUTHENTICATION_FAILED:
            self.observer.api_unauthorized()
        return self.recorder.finish(
            context.policy, context.kind, context.slot, context.started,
            refusal.result, refusal.reason, refusal.detail,
            old=refusal.snapshot or replaced_snapshot(intent),
            correlation_id=refusal.correlation_id,
            settles=intent if refusal.settles else None,
        )  # fmt: skip

    def _record(
        self,
        context: AttemptContext,
        pending: PendingAction,
        verdict: Verdict,
        correlation_id: str | None,
        *,
        record: bool = True,
    ) -> Outcome:
        verdict = taken_unhealthy(verdict) if context.unhealthy else verdict
        return self.recorder.finish(
            context.policy, context.kind, context.slot, context.started,
            verdict.result, verdict.reason, verdict.detail,
            old=replaced_snapshot(pending), new=verdict.new_snapshot,
            action_id=pending.action_id, correlation_id=correlation_id, record=record,
            settles=pending if record and verdict.settled else None,
        )  # fmt: skip
