"""Defects of the pipeline that a table row cannot show: what stays in the ledger when a
send's end is unknown, and that its writes are atomic."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from snapd.clock import ManualClock
from snapd.fakeapi import FakeHostinger, Fault
from snapd.ledger import pending as pending_table
from snapd.pipeline.outcome import Result
from tests.conftest import START, TOKEN, build_pipeline, make_policy
from tests.faults.harness import Scene, scene


@pytest.fixture
def current(tmp_path: Path) -> Iterator[Scene]:
    clock = ManualClock(START)
    fake = FakeHostinger(token=TOKEN, vm_count=1, action_seconds=60.0, seed=7, clock=clock)
    with fake, scene(fake, clock, tmp_path) as built:
        yield built


def test_a_stop_after_an_ambiguous_send_keeps_the_intent_and_the_next_run_adopts_it(
    current: Scene,
) -> None:
    current.fake.action_list_lag = 30  # the action is not listed yet when the stop comes
    current.fake.inject(Fault(kind="accept_then_fail", endpoint="create_snapshot"))
    current.engine.should_stop = lambda: current.posts() > 0
    policy = make_policy(current.vm)
    first = current.run(policy, START)
    assert first.result is Result.INTERRUPTED
    intent = current.ledger.pending_for(current.vm)
    assert intent is not None and intent.action_id is None

    current.engine.should_stop = lambda: False
    current.clock.advance(60)
    second = current.run(policy, START)
    assert (second.result, second.reason) == (Result.SUCCESS, "created")
    assert current.creates_accepted() == 1 and current.posts() == 1
    # snapd made this snapshot, so it is not protected from snapd as a manual one.
    assert current.ledger.last_success(current.vm) is not None


def test_a_busy_timeout_after_an_ambiguous_send_never_forgets_it_was_sent(
    current: Scene,
) -> None:
    current.fake.inject(Fault(kind="accept_then_drop", endpoint="create_snapshot"))
    current.fake.action_list_lag = 10 * 60
    policy = make_policy(current.vm, busy_timeout=timedelta(minutes=1))
    outcome = current.run(policy, START)
    # Resolution is bounded by action_timeout, not busy_timeout: it found the action.
    assert (outcome.result, outcome.reason) == (Result.SUCCESS, "created")
    assert current.posts() == 1


def test_the_outcome_and_the_end_of_its_pending_row_are_written_together(
    current: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*arguments: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(pending_table, "delete", crash)
    failed = current.run(make_policy(current.vm), START)
    assert (failed.result, failed.reason) == (Result.FAILED, "state_error")
    assert "disk I/O error" in failed.detail
    # Neither was written: the pending row stays, so the next run resumes, never re-sends.
    assert current.ledger.history(current.vm) == []
    pending = current.ledger.pending_for(current.vm)
    assert pending is not None and pending.action_id is not None

    monkeypatch.undo()
    again = current.run(make_policy(current.vm), START)
    assert again.result is Result.SUCCESS and again.action_id == pending.action_id
    assert current.posts() == 1


def test_a_timed_out_action_is_resumed_by_the_next_run_not_sent_again(
    current: Scene, tmp_path: Path
) -> None:
    current.fake.inject(Fault(kind="action_states", endpoint="create_snapshot",
                              states=["created", "sent", "sent", "sent", "success"]))  # fmt: skip
    policy = make_policy(current.vm, action_timeout=timedelta(seconds=30))
    first = current.run(policy, START)
    assert first.result is Result.TIMEOUT
    restarted = build_pipeline(current.fake, current.clock, current.state_dir)
    try:
        current.clock.advance(120)
        second = restarted.engine.start_slot(policy, START + timedelta(days=1)).result()
        resumed = restarted.ledger.history(current.vm)[1]
    finally:
        restarted.client.close()
        restarted.ledger.close()
    assert (resumed.slot, resumed.outcome, resumed.action_id) == (START, "success", first.action_id)
    # The next slot still runs after the resume, and finds the snapshot fresh.
    assert (second.slot, second.reason) == (START + timedelta(days=1), "snapshot_too_young")
    assert current.posts() == 1
