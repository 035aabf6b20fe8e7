"""How a slot ends before anything was sent: recorded, counted, and its post-hook run.

The engine's skips and failures (a busy VM's lock, a failed pre-flight, a guard's skip)
all end here; an outcome after a send is the attempt runner's, and gets the same
post-hook through :meth:`SlotEnd.after`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import structlog

from snapd.checks.hooks import HookResult, hook_environment
from snapd.config import HookCommand, VirtualMachinePolicy
from snapd.ledger import OperationKind
from snapd.pipeline.attempt_terms import AttemptContext
from snapd.pipeline.outcome import (
    AnyReason,
    Outcome,
    OutcomeObserver,
    OutcomeReason,
    Result,
    SnapshotState,
    StateOperation,
)
from snapd.pipeline.record import Recorder

log = structlog.get_logger("snapd.engine")

HookRunner = Callable[[HookCommand, Mapping[str, str]], HookResult]


class SlotEnd:
    """Ends a snapshot slot: records its outcome, then runs the policy's post-hook.

    ``hook_runner`` is asked at each post-hook (the engine's, which a test may replace).
    """

    def __init__(
        self, recorder: Recorder, observer: OutcomeObserver, hook_runner: HookRunner
    ) -> None:
        self.recorder = recorder
        self.observer = observer
        self.hook_runner = hook_runner

    def lock_failed(self, context: AttemptContext, error: OSError) -> Outcome:
        """The failure of a slot whose lock file could not be written (a full disk)."""
        real_error = error.strerror or str(error)
        log.error("state_error", vm=context.policy.id, slot=context.slot,
                  operation=StateOperation.LOCK.value, error=real_error)  # fmt: skip
        self.observer.state_error(StateOperation.LOCK)
        detail = f"the VM's lock file could not be written: {real_error}"
        return self.finish(context, Result.FAILED, OutcomeReason.STATE_ERROR, detail)

    def failed(
        self,
        context: AttemptContext,
        reason: OutcomeReason,
        detail: str,
        correlation_id: str | None,
        *,
        dry_run: bool = False,
    ) -> Outcome:
        """A failed attempt; a refused token also marks the API as unusable (not ready)."""
        if reason == OutcomeReason.AUTHENTICATION_FAILED:
            self.observer.api_unauthorized()
        return self.finish(
            context, Result.FAILED, reason, detail,
            correlation_id=correlation_id, dry_run=dry_run,
        )  # fmt: skip

    def finish(
        self,
        context: AttemptContext,
        result: Result,
        reason: AnyReason,
        detail: str,
        *,
        old: SnapshotState | None = None,
        correlation_id: str | None = None,
        dry_run: bool = False,
        record: bool = True,
    ) -> Outcome:
        """Record an outcome reached before anything was sent, then the post-hook."""
        outcome = self.recorder.finish(
            context.policy, OperationKind.SNAPSHOT, context.slot, context.started, result,
            reason, detail,
            old=old, correlation_id=correlation_id, dry_run=dry_run, record=record,
        )  # fmt: skip
        return self.after(outcome, context.policy)

    def after(self, outcome: Outcome, policy: VirtualMachinePolicy) -> Outcome:
        """Run the post-hook of a snapshot outcome (never in dry-run)."""
        if (
            policy.post_hook is not None
            and not outcome.dry_run
            and outcome.kind == OperationKind.SNAPSHOT
        ):
            environment = hook_environment(policy.id, outcome.slot, outcome.result.value)
            self.hook_runner(policy.post_hook, environment)
        return outcome
