"""Restore and delete take the create's path: hold first, intent first, never sent twice,
a ledger row whatever the end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault
from snapd.hostinger import Action
from snapd.pipeline.outcome import Result
from tests.conftest import START, TOKEN, make_policy
from tests.faults.harness import Scene, scene


@pytest.fixture
def current(tmp_path: Path) -> Iterator[Scene]:
    clock = ManualClock(START)
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=60.0, seed=5, clock=clock) as fake:
        fake.set_snapshot(fake.vm_ids[0], START - timedelta(days=2))
        with scene(fake, clock, tmp_path) as built:
            yield built


def test_a_restore_holds_the_vm_before_it_is_sent_even_when_its_answer_is_lost(
    current: Scene,
) -> None:
    current.fake.inject(Fault(kind="status", endpoint="restore_snapshot", status=503))
    policy = make_policy(current.vm)
    shown = current.operations.current_snapshot(current.vm)
    assert shown is not None
    outcome = current.operations.restore(policy, shown)
    assert (outcome.result, outcome.reason) == (Result.AMBIGUOUS, "ambiguous")
    assert current.fake.count("POST", "/snapshot/restore") == 1
    assert current.ledger.history(current.vm)[0].outcome == "ambiguous"
    assert current.ledger.active_hold(current.vm, current.clock.now()) is not None
    # The next slot leaves the restored-from snapshot alone.
    slot = current.run(policy, None)
    assert (slot.result, slot.reason) == (Result.SKIPPED, "held")
    assert current.posts() == 0


def test_an_interrupted_restore_is_recorded_held_and_resumed_without_a_second_send(
    current: Scene,
) -> None:
    policy = make_policy(current.vm)
    shown = current.operations.current_snapshot(current.vm)
    assert shown is not None
    current.operations.attempts.should_stop = lambda: current.fake.count("POST") > 0
    first = current.operations.restore(policy, shown)
    assert first.result is Result.INTERRUPTED
    assert current.ledger.history(current.vm)[0].outcome == "interrupted"
    pending = current.ledger.pending_for(current.vm)
    assert pending is not None and pending.kind == "restore"
    assert current.ledger.active_hold(current.vm, current.clock.now()) is not None

    resumed = current.engine.start_slot(policy, None).result()
    assert resumed is not None
    assert (resumed.kind, resumed.result, resumed.reason) == ("restore", Result.SUCCESS, "restored")
    assert current.fake.count("POST", "/snapshot/restore") == 1
    assert current.ledger.pending_for(current.vm) is None


def test_a_restore_whose_answer_was_dropped_is_adopted_not_sent_again(current: Scene) -> None:
    current.fake.inject(Fault(kind="accept_then_drop", endpoint="restore_snapshot"))
    shown = current.operations.current_snapshot(current.vm)
    assert shown is not None
    outcome = current.operations.restore(make_policy(current.vm), shown)
    assert outcome.result is Result.SUCCESS
    assert current.fake.count("POST", "/snapshot/restore") == 1


def test_a_delete_whose_read_back_fails_is_recorded_unverified(
    current: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = current.operations.current_snapshot(current.vm)
    assert shown is not None
    send = current.client.delete_snapshot

    def send_then_break_reads(virtual_machine_id: int) -> Action:
        action = send(virtual_machine_id)
        current.fake.inject(Fault(kind="status", endpoint="get_snapshot", status=503, count=None))
        return action

    monkeypatch.setattr(current.client, "delete_snapshot", send_then_break_reads)
    outcome = current.operations.delete(make_policy(current.vm), shown)
    assert (outcome.result, outcome.reason) == (Result.UNVERIFIED, "unverified")
    assert current.fake.count("DELETE") == 1
    assert current.ledger.history(current.vm)[0].outcome == "unverified"
    assert current.ledger.pending_for(current.vm) is None


def test_a_delete_is_refused_when_the_snapshot_cannot_be_compared(current: Scene) -> None:
    shown = current.operations.current_snapshot(current.vm)
    assert shown is not None
    current.fake.inject(Fault(kind="status", endpoint="get_snapshot", status=503, count=None))
    outcome = current.operations.delete(make_policy(current.vm), shown)
    assert (outcome.result, outcome.reason) == (Result.FAILED, "api_error")
    assert current.fake.count("DELETE") == 0
    assert current.ledger.history(current.vm)[0].outcome == "failed"


def test_a_restore_refuses_while_an_earlier_request_is_unresolved(current: Scene) -> None:
    current.fake.inject(Fault(kind="status", endpoint="create_snapshot", status=503))
    policy = make_policy(current.vm, action_timeout=timedelta(minutes=5))
    current.engine.attempts.should_stop = lambda: current.posts() > 0
    current.run(policy, START)  # ambiguous create, then a stop: its intent stays
    shown = current.operations.current_snapshot(current.vm)
    assert shown is not None
    outcome = current.operations.restore(policy, shown)
    assert (outcome.result, outcome.reason) == (Result.FAILED, "operation_in_progress")
    assert current.fake.count("POST", "/snapshot/restore") == 0
