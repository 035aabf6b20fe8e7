"""resolve: after an ambiguous send, look (never send) until something shows what ran."""

from __future__ import annotations

from datetime import timedelta

from snapd.fakeapi import Fault
from snapd.ledger import OperationKind, PendingAction
from snapd.pipeline.resolve import ResolutionState, resolve
from snapd.pipeline.send import Ambiguous, send_once
from tests.conftest import START, Pipeline

ACTION_TIMEOUT = timedelta(minutes=30)


def intent(pipeline: Pipeline, kind: str = OperationKind.SNAPSHOT) -> PendingAction:
    """The intent recorded before the send, over the VM's snapshot of a day ago."""
    vm = pipeline.fake.vm_ids[0]
    old = pipeline.fake.set_snapshot(vm, START - timedelta(days=1))
    now = pipeline.clock.now()
    return PendingAction(vm, None, kind, None, now, int(old["id"]), START - timedelta(days=1), now)


def look(pipeline: Pipeline, pending: PendingAction) -> ResolutionState:
    deadline = pipeline.clock.now() + ACTION_TIMEOUT
    return resolve(pipeline.client, pipeline.clock, pending, deadline, lambda: False).state


def test_a_create_that_ran_despite_a_lost_answer_is_found_in_the_action_list(
    pipeline: Pipeline,
) -> None:
    pending = intent(pipeline)
    pipeline.fake.inject(Fault(kind="accept_then_fail", endpoint="create_snapshot", count=1))
    deadline = pipeline.clock.now() + ACTION_TIMEOUT
    sent = send_once(pipeline.client, pipeline.clock, pending.virtual_machine_id,
                     OperationKind.SNAPSHOT, deadline, lambda: False)  # fmt: skip
    assert isinstance(sent, Ambiguous)

    found = resolve(pipeline.client, pipeline.clock, pending, deadline, lambda: False)

    assert found.state is ResolutionState.ACTION
    assert found.action is not None and found.action.name == "create_snapshot"
    assert pipeline.creates() == 1  # resolving sent nothing


def test_a_new_snapshot_without_an_action_in_the_list_shows_the_create_ran(
    pipeline: Pipeline,
) -> None:
    pending = intent(pipeline)
    pipeline.fake.set_snapshot(pending.virtual_machine_id, pipeline.clock.now())

    assert look(pipeline, pending) is ResolutionState.OBSERVED
    assert pipeline.creates() == 0


def test_a_gone_snapshot_shows_a_delete_ran(pipeline: Pipeline) -> None:
    pending = intent(pipeline, OperationKind.DELETE)
    pipeline.fake.clear_snapshot(pending.virtual_machine_id)

    assert look(pipeline, pending) is ResolutionState.OBSERVED


def test_nothing_seen_by_action_timeout_is_unresolved_and_nothing_is_sent(
    pipeline: Pipeline,
) -> None:
    pending = intent(pipeline)
    started = pipeline.clock.now()

    assert look(pipeline, pending) is ResolutionState.UNRESOLVED
    assert pipeline.clock.now() - started >= ACTION_TIMEOUT  # waited in virtual time
    assert pipeline.fake.count("POST") == 0
    assert pipeline.fake.count("GET", "/actions") > 1


def test_a_refused_token_while_looking_ends_the_look_as_unauthorized(pipeline: Pipeline) -> None:
    pending = intent(pipeline)
    pipeline.fake.inject(Fault(kind="status", endpoint="list_actions", count=None, status=401))

    assert look(pipeline, pending) is ResolutionState.UNAUTHORIZED


def test_a_stop_ends_the_look_and_keeps_the_intent(pipeline: Pipeline) -> None:
    pending = intent(pipeline)
    deadline = pipeline.clock.now() + ACTION_TIMEOUT

    found = resolve(pipeline.client, pipeline.clock, pending, deadline, lambda: True)

    assert found.state is ResolutionState.STOPPED
