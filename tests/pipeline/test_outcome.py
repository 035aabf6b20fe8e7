"""Outcomes: named failure reasons, the snapshot as the ledger sees it, observers fanned out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from snapd.hostinger import (
    ApiError,
    AuthenticationError,
    RateLimitedError,
    ServerError,
    Snapshot,
    UnreadableSnapshotError,
)
from snapd.pipeline.outcome import (
    FanOut,
    Outcome,
    OutcomeReason,
    SnapshotState,
    StateOperation,
    failure_reason,
    snapshot_state,
)
from tests.conftest import START, RecordingObserver


@pytest.mark.parametrize(
    ("error_type", "reason"),
    [
        (AuthenticationError, OutcomeReason.AUTHENTICATION_FAILED),
        (RateLimitedError, OutcomeReason.RATE_LIMITED),
        (UnreadableSnapshotError, OutcomeReason.UNREADABLE_SNAPSHOT),
        (ServerError, OutcomeReason.API_ERROR),
        (ApiError, OutcomeReason.API_ERROR),
    ],
)
def test_a_failure_before_sending_gets_the_named_reason_of_its_error(
    error_type: type[ApiError], reason: OutcomeReason
) -> None:
    assert failure_reason(error_type("refused", endpoint="get_snapshot")) is reason


def test_the_ledger_sees_a_snapshot_as_its_id_and_times_and_no_snapshot_as_none() -> None:
    expires = START + timedelta(days=20)
    snapshot = Snapshot(id=5, created_at=START, expires_at=expires, restore_time=None)

    assert snapshot_state(snapshot) == SnapshotState(5, START, expires)
    assert snapshot_state(None) is None


def test_a_fan_out_hands_everything_to_every_observer_in_order() -> None:
    first: list[Outcome] = []
    second: list[Outcome] = []
    fan_out = FanOut(RecordingObserver(first), RecordingObserver(second))
    outcome = object()

    fan_out.outcome(outcome)  # type: ignore[arg-type]
    fan_out.snapshot_seen(1, None)
    fan_out.api_unauthorized()
    fan_out.state_error(StateOperation.RECORD)

    assert first == second == [outcome]
