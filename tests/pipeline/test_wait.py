"""Waiting for an action: polls timed from the VM's last duration, on the injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from snapd.fakeapi import Fault
from snapd.hostinger import Action
from snapd.pipeline.wait import ActionWatch, PollSettings, WaitState, action_seconds, wait_for
from tests.conftest import Pipeline

SETTINGS = PollSettings(first_delay=10.0, minimum_delay=1.0, maximum_delay=60.0)
ACTION_TIMEOUT = timedelta(minutes=30)


def started_action(pipeline: Pipeline) -> Action:
    return pipeline.client.create_snapshot(pipeline.fake.vm_ids[0])


def watch(pipeline: Pipeline, action: Action, previous: float | None = None) -> ActionWatch:
    deadline = pipeline.clock.now() + ACTION_TIMEOUT
    return ActionWatch.begin(pipeline.fake.vm_ids[0], action.id, deadline, SETTINGS, previous)


def test_the_first_poll_comes_a_little_after_the_vms_last_duration() -> None:
    assert SETTINGS.first(None) == 10.0
    assert SETTINGS.first(100.0) == pytest.approx(100.0 * 1.1 + 1.0)
    assert SETTINGS.first(0.0) == SETTINGS.minimum_delay
    assert SETTINGS.first(10_000.0) == SETTINGS.first_maximum


def test_a_wait_polls_until_the_action_succeeds_in_virtual_time(pipeline: Pipeline) -> None:
    action = started_action(pipeline)  # the fake's actions take 60 s
    started = pipeline.clock.now()

    waited = wait_for(pipeline.client, pipeline.clock, watch(pipeline, action), lambda: False)

    assert waited.state is WaitState.SUCCESS
    assert pipeline.clock.now() - started >= timedelta(seconds=60)
    assert action_seconds(waited.action) == 60.0


def test_a_first_poll_timed_from_the_last_duration_finds_the_action_done_at_once(
    pipeline: Pipeline,
) -> None:
    action = started_action(pipeline)
    pipeline.fake.clear_requests()

    wait_for(pipeline.client, pipeline.clock, watch(pipeline, action, 60.0), lambda: False)

    assert pipeline.fake.count("GET", f"/actions/{action.id}") == 1


def test_an_action_that_never_finishes_times_out_at_the_deadline(pipeline: Pipeline) -> None:
    pipeline.fake.inject(Fault(kind="action_never_finishes", endpoint="create_snapshot"))
    action = started_action(pipeline)
    started = pipeline.clock.now()

    waited = wait_for(pipeline.client, pipeline.clock, watch(pipeline, action), lambda: False)

    assert waited.state is WaitState.TIMEOUT
    assert pipeline.clock.now() - started == ACTION_TIMEOUT


def test_an_action_the_api_forgot_ends_the_wait_as_gone(pipeline: Pipeline) -> None:
    action = started_action(pipeline)
    pipeline.fake.inject(Fault(kind="status", endpoint="get_action", status=404, count=None))

    waited = wait_for(pipeline.client, pipeline.clock, watch(pipeline, action), lambda: False)

    assert waited.state is WaitState.GONE


def test_a_stop_ends_the_wait_and_the_action_stays_pending(pipeline: Pipeline) -> None:
    action = started_action(pipeline)
    pipeline.fake.clear_requests()

    waited = wait_for(pipeline.client, pipeline.clock, watch(pipeline, action), lambda: True)

    assert waited.state is WaitState.STOPPED
    assert pipeline.fake.requests == []
