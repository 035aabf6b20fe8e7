"""AttemptContext: what one attempt is about, fixed once it began."""

from __future__ import annotations

import dataclasses

import pytest

from snapd.ledger import OperationKind
from snapd.pipeline.attempt_terms import AttemptContext
from tests.conftest import START, make_policy


def test_an_attempt_is_healthy_unless_said_and_cannot_be_changed_once_begun() -> None:
    context = AttemptContext(make_policy(7), OperationKind.SNAPSHOT, START, START)
    assert context.unhealthy is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.slot = None  # type: ignore[misc]
    unhealthy = dataclasses.replace(context, unhealthy=True)
    assert (unhealthy.policy.id, unhealthy.kind, unhealthy.unhealthy) == (7, "snapshot", True)
