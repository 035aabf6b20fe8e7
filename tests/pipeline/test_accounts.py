"""AccountFleets: each slot goes to the runner of its VM's account, and only there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import pytest

from snapd.pipeline.accounts import AccountFleets
from snapd.pipeline.fleet import FleetRunner
from tests.conftest import START, make_policy


class RecordingRunner:
    """Stands in for one account's FleetRunner: records what it was handed."""

    def __init__(self, queued: int = 0, ends: bool = True) -> None:
        self.engine = object()
        self.clock = object()
        self.urgency = object()
        self.slots: list[tuple[int, datetime | None, dict[str, Any]]] = []
        self.queued = queued
        self.ends = ends
        self.closed_with: list[bool] = []

    def submit_slot(self, policy: Any, slot: datetime | None, done: Any, **options: Any) -> None:
        self.slots.append((policy.id, slot, options))

    def close(self, *, cancel_queued: bool = False) -> int:
        self.closed_with.append(cancel_queued)
        return self.queued

    def join(self, timeout: float | None = None) -> bool:
        return self.ends


def _fleets(**runners: RecordingRunner) -> AccountFleets:
    return AccountFleets(cast(dict[str, FleetRunner], runners))


def test_a_slot_goes_to_the_runner_of_its_vms_account_only() -> None:
    first, second = RecordingRunner(), RecordingRunner()
    fleets = _fleets(a=first, b=second)
    fleets.submit_slot(make_policy(1, account="b"), START, lambda *_: None, force=True)
    fleets.submit_slot(make_policy(2, account="a"), None, lambda *_: None)
    assert [slot[:2] for slot in second.slots] == [(1, START)]
    assert second.slots[0][2]["force"] is True
    assert [slot[:2] for slot in first.slots] == [(2, None)]


def test_a_vm_of_an_account_without_a_runner_is_refused() -> None:
    fleets = _fleets(a=RecordingRunner())
    with pytest.raises(KeyError):
        fleets.submit_slot(make_policy(1, account="c"), START, lambda *_: None)


def test_closing_closes_every_runner_and_counts_every_dropped_slot() -> None:
    first, second = RecordingRunner(queued=2), RecordingRunner(queued=3)
    assert _fleets(a=first, b=second).close(cancel_queued=True) == 5
    assert first.closed_with == second.closed_with == [True]


def test_join_is_true_only_when_every_runner_ended() -> None:
    assert _fleets(a=RecordingRunner(), b=RecordingRunner()).join(1) is True
    assert _fleets(a=RecordingRunner(), b=RecordingRunner(ends=False)).join(1) is False


def test_at_least_one_runner_is_needed() -> None:
    with pytest.raises(ValueError, match="at least one runner"):
        AccountFleets({})
