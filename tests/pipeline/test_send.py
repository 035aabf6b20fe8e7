"""send_once: a request is sent again only when the API said it was not executed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from snapd.fakeapi import Fault
from snapd.ledger import OperationKind
from snapd.pipeline.decide import Reason
from snapd.pipeline.outcome import OutcomeReason, Result
from snapd.pipeline.send import (
    Ambiguous,
    NotYet,
    Proceed,
    Refusal,
    SendFailed,
    SendRefused,
    Sent,
    send_once,
)
from tests.conftest import Pipeline

BUSY_TIMEOUT = timedelta(minutes=10)


def send(pipeline: Pipeline, **options: object) -> Sent | Ambiguous:
    vm = pipeline.fake.vm_ids[0]
    deadline = pipeline.clock.now() + BUSY_TIMEOUT
    return send_once(
        pipeline.client,
        pipeline.clock,
        vm,
        OperationKind.SNAPSHOT,
        deadline,
        options.pop("should_stop", lambda: False),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def test_an_accepted_create_is_sent_once_and_names_its_action(pipeline: Pipeline) -> None:
    sent = send(pipeline)

    assert isinstance(sent, Sent)
    assert sent.action.name == "create_snapshot"
    assert pipeline.creates() == 1


@pytest.mark.parametrize("kind", ["accept_then_fail", "accept_then_drop", "malformed_json"])
def test_an_answer_lost_after_the_create_ran_is_ambiguous_and_never_sent_again(
    pipeline: Pipeline, kind: str
) -> None:
    pipeline.fake.inject(Fault(kind=kind, endpoint="create_snapshot", count=1))

    assert isinstance(send(pipeline), Ambiguous)
    assert pipeline.creates() == 1


def test_a_busy_vm_is_not_executed_so_the_create_goes_again_until_accepted(
    pipeline: Pipeline,
) -> None:
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=2, status=422))
    started = pipeline.clock.now()

    assert isinstance(send(pipeline), Sent)
    assert pipeline.creates() == 3
    assert pipeline.clock.now() > started  # the back-off waited, on the manual clock


def test_a_vm_busy_past_busy_timeout_fails_as_busy_timeout_without_an_action(
    pipeline: Pipeline,
) -> None:
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=None, status=409))

    with pytest.raises(SendFailed) as failed:
        send(pipeline)
    assert failed.value.reason is OutcomeReason.BUSY_TIMEOUT
    assert pipeline.fake.actions_of(pipeline.fake.vm_ids[0]) == []


def test_a_refused_token_fails_at_once_with_one_request(pipeline: Pipeline) -> None:
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=None, status=401))

    with pytest.raises(SendFailed) as failed:
        send(pipeline)
    assert failed.value.reason is OutcomeReason.AUTHENTICATION_FAILED
    assert pipeline.creates() == 1


def test_a_stop_before_sending_sends_nothing(pipeline: Pipeline) -> None:
    with pytest.raises(SendFailed) as failed:
        send(pipeline, should_stop=lambda: True)
    assert failed.value.reason is OutcomeReason.INTERRUPTED
    assert pipeline.creates() == 0


def test_a_recheck_that_refuses_after_a_busy_answer_ends_the_attempt_unsent(
    pipeline: Pipeline,
) -> None:
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=1, status=422))
    refusal = Refusal(Result.SKIPPED, Reason.HELD, "a hold was placed meanwhile")

    with pytest.raises(SendRefused) as refused:
        send(pipeline, recheck=lambda: refusal)
    assert refused.value.refusal is refusal
    assert pipeline.creates() == 1


def test_a_recheck_that_says_not_yet_is_asked_again_before_the_create_goes_again(
    pipeline: Pipeline,
) -> None:
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=1, status=422))
    answers: list[NotYet | Proceed] = [NotYet("still busy"), Proceed(None)]

    assert isinstance(send(pipeline, recheck=lambda: answers.pop(0)), Sent)
    assert answers == []
    assert pipeline.creates() == 2
