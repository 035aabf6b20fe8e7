"""A slot's look at its VM: pre-flight and decide, looking again while the VM is busy.

The VM busy (an action running, a state that defers) or the API rate-limiting: look again
within the policy's ``busy_timeout``, with a backoff on the engine's clock. The slot ends
here (recorded through :class:`~snapd.pipeline.slot_end.SlotEnd`) when the pre-flight
fails, the VM stays busy, the process stops or a rehearsal meets a busy VM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from snapd.backoff import Backoff
from snapd.clock import Clock, sleep_before
from snapd.hostinger import ApiError, HostingerClient, RateLimitedError
from snapd.ledger import Ledger
from snapd.pipeline.attempt_terms import AttemptContext
from snapd.pipeline.decide import Decision, Facts, Step, decide
from snapd.pipeline.fleet_view import FleetView
from snapd.pipeline.outcome import Outcome, OutcomeObserver, OutcomeReason, Result, failure_reason
from snapd.pipeline.preflight import Preflight, collect_facts, guards_of, read_virtual_machine
from snapd.pipeline.slot_end import SlotEnd

log = structlog.get_logger("snapd.engine")


@dataclass
class IdleLook:
    """Looks at a slot's VM until it can be decided on; ``should_stop`` is asked before
    every wait."""

    client: HostingerClient
    ledger: Ledger
    observer: OutcomeObserver
    fleet: FleetView
    clock: Clock
    should_stop: Callable[[], bool]
    end: SlotEnd

    def __call__(
        self, context: AttemptContext, *, dry_run: bool, force: bool
    ) -> tuple[Preflight, Facts, Decision] | Outcome:
        """Pre-flight and decide; while the VM is busy or the API rate-limits, look again
        within ``busy_timeout``. An outcome when the slot ends here."""
        deadline = context.started + context.policy.busy_timeout
        backoff = Backoff()
        again = False
        while True:
            try:
                preflight = read_virtual_machine(
                    self.client, self.observer, context.policy.id, fleet=self.fleet, again=again
                )
            except RateLimitedError as error:
                pause = error.retry_after if error.retry_after is not None else backoff.next()
                if dry_run or self.should_stop() or not sleep_before(self.clock, deadline, pause):
                    return self._failed(context, error, dry_run)
                again = True
                continue
            except ApiError as error:
                return self._failed(context, error, dry_run)
            facts = collect_facts(
                self.ledger, context.policy, context.slot, preflight, self.clock.now(), force=force
            )
            decision = decide(facts, guards_of(context.policy))
            if decision.action is not Step.DEFER:
                return preflight, facts, decision
            log.info("decision", vm=context.policy.id, slot=context.slot, decision="defer",
                     reason=decision.reason)  # fmt: skip
            if dry_run or self.should_stop():
                # A rehearsal does not wait for the VM; a stopping process must not.
                result = Result.SKIPPED if dry_run else Result.INTERRUPTED
                return self.end.finish(
                    context, result, decision.reason, decision.detail,
                    old=preflight.snapshot, dry_run=dry_run, record=dry_run,
                )  # fmt: skip
            if not sleep_before(self.clock, deadline, backoff.next()):
                return self.end.finish(
                    context, Result.FAILED, OutcomeReason.BUSY_TIMEOUT,
                    "the VM stayed busy for busy_timeout",
                    old=preflight.snapshot, dry_run=dry_run,
                )  # fmt: skip
            again = True

    def _failed(self, context: AttemptContext, error: ApiError, dry_run: bool) -> Outcome:
        """The slot's end after a failed pre-flight: interrupted when stopping."""
        if self.should_stop():
            return self.end.finish(
                context, Result.INTERRUPTED, OutcomeReason.INTERRUPTED,
                f"stopping during pre-flight: {error}",
                dry_run=dry_run, record=False,
            )  # fmt: skip
        detail = f"pre-flight failed: {error}"
        reason = failure_reason(error)
        return self.end.failed(context, reason, detail, error.correlation_id, dry_run=dry_run)
