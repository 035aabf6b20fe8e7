"""SlotEnd: a slot that ends before anything was sent is recorded, counted, post-hooked."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from datetime import timedelta

import pytest

from snapd.checks.result import HookResult
from snapd.config.model import HookCommand
from snapd.ledger import OperationKind
from snapd.pipeline.attempt_terms import AttemptContext
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import Outcome, OutcomeReason, Result, StateOperation
from snapd.pipeline.record import Recorder
from snapd.pipeline.slot_end import SlotEnd
from tests.conftest import START, Pipeline, RecordingObserver, make_policy

POST_HOOK = HookCommand(("true",), timedelta(seconds=5))


class Observer(RecordingObserver):
    def __init__(self) -> None:
        super().__init__([])
        self.unauthorized = 0
        self.state_errors: list[StateOperation] = []

    def api_unauthorized(self) -> None:
        self.unauthorized += 1

    def state_error(self, operation: StateOperation) -> None:
        self.state_errors.append(operation)


class PostHooks:
    def __init__(self) -> None:
        self.environments: list[Mapping[str, str]] = []

    def __call__(self, command: HookCommand, environment: Mapping[str, str]) -> HookResult:
        self.environments.append(environment)
        return HookResult(True, "true", exit_code=0)


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def hooks() -> PostHooks:
    return PostHooks()


@pytest.fixture
def end(pipeline: Pipeline, observer: Observer, hooks: PostHooks) -> SlotEnd:
    return SlotEnd(Recorder(pipeline.ledger, pipeline.clock, observer), observer, hooks)


def context(pipeline: Pipeline) -> AttemptContext:
    policy = make_policy(pipeline.fake.vm_ids[0], post_hook=POST_HOOK)
    return AttemptContext(policy, OperationKind.SNAPSHOT, START, pipeline.clock.now())


def test_a_skip_is_recorded_then_the_post_hook_runs_with_the_result(
    pipeline: Pipeline, end: SlotEnd, observer: Observer, hooks: PostHooks
) -> None:
    attempt = context(pipeline)

    outcome = end.finish(attempt, Result.SKIPPED, Reason.HELD, "held until noon")

    assert observer.outcomes == [outcome]
    (row,) = pipeline.ledger.history(attempt.policy.id)
    assert row.outcome is Result.SKIPPED
    assert len(hooks.environments) == 1
    assert "skipped" in hooks.environments[0].values()


def test_a_rehearsal_runs_no_post_hook(pipeline: Pipeline, end: SlotEnd, hooks: PostHooks) -> None:
    end.finish(context(pipeline), Result.SKIPPED, Reason.HELD, "held", dry_run=True)

    assert hooks.environments == []


def test_a_refused_token_marks_the_api_unusable(
    pipeline: Pipeline, end: SlotEnd, observer: Observer
) -> None:
    outcome = end.failed(
        context(pipeline), OutcomeReason.AUTHENTICATION_FAILED, "401 Unauthorized", "c-1"
    )

    assert (outcome.result, outcome.correlation_id) == (Result.FAILED, "c-1")
    assert observer.unauthorized == 1


def test_a_lock_file_that_cannot_be_written_is_a_state_error_with_the_real_cause(
    pipeline: Pipeline, end: SlotEnd, observer: Observer
) -> None:
    full = OSError(errno.ENOSPC, "No space left on device")

    outcome: Outcome = end.lock_failed(context(pipeline), full)

    assert (outcome.result, outcome.reason) == (Result.FAILED, OutcomeReason.STATE_ERROR)
    assert outcome.detail == "the VM's lock file could not be written: No space left on device"
    assert observer.state_errors == [StateOperation.LOCK]
