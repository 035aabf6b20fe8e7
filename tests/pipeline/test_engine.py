"""The guarded pipeline against the fake API: one create per slot, whatever goes wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from snapd.checks.hooks import HookResult
from snapd.clock import ManualClock
from snapd.config import HealthCheck, HookCommand
from snapd.fakeapi import FakeHostinger, Fault
from snapd.ledger import Hold, PendingAction
from snapd.pipeline.outcome import Result
from tests.conftest import START, TOKEN, Pipeline, build_pipeline, make_policy

SLOT = START


def first_vm(pipeline: Pipeline) -> int:
    return pipeline.fake.vm_ids[0]


def test_a_slot_creates_one_snapshot_waits_and_verifies_it(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.SUCCESS, "created")
    assert pipeline.creates() == 1
    assert outcome.new_snapshot is not None
    assert outcome.new_snapshot.id == pipeline.fake.snapshot_of(vm)["id"]  # type: ignore[index]
    record = pipeline.ledger.history(vm)[0]
    assert (record.outcome, record.action_id) == ("success", outcome.action_id)
    assert pipeline.ledger.pending_for(vm) is None


def test_the_same_slot_never_posts_twice(pipeline: Pipeline) -> None:
    policy = make_policy(first_vm(pipeline), min_age=timedelta(0))
    pipeline.engine.start_slot(policy, SLOT).result()
    second = pipeline.engine.start_slot(policy, SLOT).result()
    assert (second.result, second.reason) == (Result.SKIPPED, "slot_already_done")
    assert pipeline.creates() == 1


def test_dry_run_walks_the_path_but_never_posts(pipeline: Pipeline) -> None:
    outcome = pipeline.engine.start_slot(
        make_policy(first_vm(pipeline)), SLOT, dry_run=True
    ).result()
    assert (outcome.result, outcome.reason) == (Result.DRY_RUN, "dry_run")
    assert pipeline.fake.count("POST") == 0
    assert pipeline.fake.count("GET", "/snapshot") == 1
    assert pipeline.ledger.history()[0].dry_run


@pytest.mark.parametrize(
    ("arrange", "reason"),
    [
        (lambda p, vm: p.fake.set_vm_state(vm, "stopped"), "vm_state_not_allowed"),
        (
            lambda p, vm: p.ledger.set_hold(Hold(vm, START + timedelta(hours=1), "upgrade", START)),
            "held",
        ),
        (
            lambda p, vm: p.fake.set_snapshot(vm, START - timedelta(hours=1)),
            "manual_snapshot_protected",
        ),
    ],
)
def test_each_guard_skips_without_posting(pipeline: Pipeline, arrange: object, reason: str) -> None:
    vm = first_vm(pipeline)
    arrange(pipeline, vm)  # type: ignore[operator]
    outcome = pipeline.engine.start_slot(make_policy(vm, min_age=timedelta(0)), SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.SKIPPED, reason)
    assert pipeline.fake.count("POST") == 0


def test_a_young_snapshot_made_by_snapd_is_not_overwritten(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    pipeline.engine.start_slot(make_policy(vm), None).result()
    pipeline.clock.advance(3600)
    outcome = pipeline.engine.start_slot(make_policy(vm), None).result()
    assert (outcome.result, outcome.reason) == (Result.SKIPPED, "snapshot_too_young")
    assert pipeline.creates() == 1


def test_force_overwrites_a_young_snapshot_but_not_a_stopped_vm(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.set_snapshot(vm, START - timedelta(minutes=5))
    assert (
        pipeline.engine.start_slot(make_policy(vm), None, force=True).result().result
        is Result.SUCCESS
    )
    pipeline.fake.set_vm_state(vm, "stopped")
    outcome = pipeline.engine.start_slot(make_policy(vm), None, force=True).result()
    assert outcome.reason == "vm_state_not_allowed"
    assert pipeline.creates() == 1


def test_a_failing_health_check_vetoes_the_overwrite(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.set_snapshot(vm, START - timedelta(days=2))  # a restore point to protect
    pipeline.engine.health_check = lambda check: HookResult(False, "answered 503")
    policy = make_policy(vm, health_check=HealthCheck("https://x.example/", timedelta(1), ()))
    outcome = pipeline.engine.start_slot(policy, SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.SKIPPED, "health_check_failed")
    assert pipeline.fake.count("POST") == 0


def test_a_vetoing_pre_hook_stops_the_snapshot_and_the_post_hook_hears_of_it(
    pipeline: Pipeline,
) -> None:
    calls: list[tuple[tuple[str, ...], dict[str, str]]] = []

    def runner(hook: HookCommand, environment: dict[str, str]) -> HookResult:
        calls.append((hook.command, dict(environment)))
        return HookResult(hook.command[0] != "pre", "exit code 1")

    pipeline.engine.hook_runner = runner
    vm = first_vm(pipeline)
    policy = make_policy(
        vm,
        pre_hook=HookCommand(("pre",), timedelta(seconds=5)),
        post_hook=HookCommand(("post",), timedelta(seconds=5)),
    )
    outcome = pipeline.engine.start_slot(policy, SLOT).result()
    assert outcome.reason == "hook_vetoed"
    assert pipeline.fake.count("POST") == 0
    assert [command for command, _ in calls] == [("pre",), ("post",)]
    assert calls[0][1]["SNAPD_VM_ID"] == str(vm)
    assert calls[1][1]["SNAPD_RESULT"] == "skipped"


def test_dry_run_never_runs_the_pre_hook(pipeline: Pipeline) -> None:
    ran: list[str] = []
    pipeline.engine.hook_runner = lambda hook, environment: ran.append("x") or HookResult(True, "")
    policy = make_policy(first_vm(pipeline), pre_hook=HookCommand(("pre",), timedelta(1)))
    assert pipeline.engine.start_slot(policy, SLOT, dry_run=True).result().result is Result.DRY_RUN
    assert ran == []


@pytest.mark.parametrize("kind", ["accept_then_fail", "accept_then_drop"])
def test_an_accepted_create_with_a_lost_answer_is_adopted_not_reposted(
    pipeline: Pipeline, kind: str
) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.inject(Fault(kind=kind, endpoint="create_snapshot", count=1))
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert outcome.result is Result.SUCCESS
    assert pipeline.creates() == 1
    assert outcome.action_id == pipeline.fake.actions_of(vm)[0]["id"]


def test_a_500_on_the_create_is_never_posted_again_and_ends_ambiguous(
    pipeline: Pipeline,
) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=1, status=500))
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    # A 500 may come after the work was done: snapd only looks, until action_timeout.
    assert (outcome.result, outcome.reason) == (Result.AMBIGUOUS, "ambiguous")
    assert outcome.correlation_id is not None
    assert pipeline.creates() == 1
    assert pipeline.fake.count("GET", "/actions") > 1
    assert pipeline.ledger.history(vm)[0].outcome == "ambiguous"
    assert pipeline.ledger.pending_for(vm) is None  # the next slot decides afresh


def test_busy_twice_then_free_gives_one_created_snapshot(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=2, status=422))
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert outcome.result is Result.SUCCESS
    assert len(pipeline.fake.actions_of(vm)) == 1


def test_a_locked_vm_is_waited_for_within_busy_timeout(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.set_actions_lock(vm, "locked")
    outcome = pipeline.engine.start_slot(
        make_policy(vm, busy_timeout=timedelta(minutes=2)), SLOT
    ).result()
    assert (outcome.result, outcome.reason) == (Result.FAILED, "busy_timeout")
    assert pipeline.fake.count("POST") == 0
    assert pipeline.clock.now() - START <= timedelta(minutes=2)


def test_an_action_ending_in_error_fails_once_without_a_retry_storm(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.inject(Fault(kind="action_error", endpoint="create_snapshot", count=1))
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.FAILED, "action_error")
    assert pipeline.creates() == 1
    assert pipeline.fake.count("GET", "/actions/" + str(outcome.action_id)) < 10


def test_undocumented_action_states_mean_still_running(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    states = ["created", "started", "delayed", "sent", "success"]
    pipeline.fake.inject(Fault(kind="action_states", endpoint="create_snapshot", states=states))
    assert pipeline.engine.start_slot(make_policy(vm), SLOT).result().result is Result.SUCCESS
    assert pipeline.creates() == 1


def test_an_action_that_never_finishes_times_out(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.inject(Fault(kind="action_never_finishes", endpoint="create_snapshot"))
    outcome = pipeline.engine.start_slot(
        make_policy(vm, action_timeout=timedelta(minutes=5)), SLOT
    ).result()
    assert (outcome.result, outcome.reason) == (Result.TIMEOUT, "action_timeout")
    assert pipeline.creates() == 1
    pending = pipeline.ledger.pending_for(vm)  # its end is unknown: the next run resumes it
    assert pending is not None and pending.action_id == outcome.action_id


@pytest.mark.parametrize("answer", ["404", "null", "empty", "null_fields"])
def test_every_form_of_no_snapshot_means_no_snapshot(pipeline: Pipeline, answer: str) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.no_snapshot_as = answer
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert outcome.result is Result.SUCCESS
    assert outcome.old_snapshot is None
    assert pipeline.creates() == 1


def test_a_snapshot_that_did_not_change_is_unverified(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.set_snapshot(vm, START - timedelta(days=2))
    unchanged = pipeline.client.get_snapshot(vm)
    # The action reports success, but the API keeps answering with the old snapshot.
    monkeypatch.setattr(pipeline.client, "get_snapshot", lambda virtual_machine_id: unchanged)
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.UNVERIFIED, "unverified")
    assert pipeline.creates() == 1
    assert pipeline.ledger.last_success(vm) is None


def test_a_stopping_process_leaves_the_action_pending_and_the_next_one_resumes_it(
    pipeline: Pipeline,
) -> None:
    vm = first_vm(pipeline)
    pipeline.engine.should_stop = lambda: pipeline.fake.count("POST", "/snapshot") > 0
    first = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert first.result is Result.INTERRUPTED
    pending = pipeline.ledger.pending_for(vm)
    assert pending is not None and pending.action_id == first.action_id

    restarted = build_pipeline(pipeline.fake, pipeline.clock, pipeline.state_dir)
    try:
        second = restarted.engine.start_slot(make_policy(vm), SLOT).result()
    finally:
        restarted.client.close()
        restarted.ledger.close()
    assert (second.result, second.action_id) == (Result.SUCCESS, first.action_id)
    assert pipeline.creates() == 1


def test_a_wrong_token_fails_at_once_without_posting(pipeline: Pipeline) -> None:
    wrong = build_pipeline(pipeline.fake, pipeline.clock, pipeline.state_dir, token="wrong")
    try:
        outcome = wrong.engine.start_slot(make_policy(first_vm(pipeline)), SLOT).result()
    finally:
        wrong.client.close()
        wrong.ledger.close()
    assert (outcome.result, outcome.reason) == (Result.FAILED, "authentication_failed")
    assert pipeline.fake.count("POST") == 0
    assert len(pipeline.fake.requests) == 1


def test_another_operation_on_the_vm_makes_the_slot_wait_its_turn(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    with pipeline.locks.hold(vm, "restore", START):
        outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.SKIPPED, "operation_in_progress")
    assert pipeline.fake.count() == 0


def test_dry_run_reports_a_locked_vm_without_waiting_for_it(pipeline: Pipeline) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.set_actions_lock(vm, "locked")
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT, dry_run=True).result()
    assert (outcome.result, outcome.reason) == (Result.SKIPPED, "actions_locked")
    assert pipeline.clock.now() == START
    assert pipeline.fake.count("POST") == 0


def test_a_stop_before_the_create_is_sent_is_neither_a_failure_nor_recorded(
    pipeline: Pipeline,
) -> None:
    vm = first_vm(pipeline)
    pipeline.engine.should_stop = lambda: True  # SIGTERM arrived during pre-flight
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.INTERRUPTED, "interrupted")
    assert pipeline.fake.count("POST") == 0
    assert pipeline.ledger.history(vm) == []


def test_a_create_whose_sender_died_before_recording_it_is_adopted_not_reposted(
    pipeline: Pipeline,
) -> None:
    vm = first_vm(pipeline)
    # A process wrote its intent, sent the create, and died before the answer came.
    pipeline.ledger.add_pending(PendingAction(vm, None, "snapshot", SLOT, START))
    pipeline.client.create_snapshot(vm)
    pipeline.fake.clear_requests()
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert outcome.result is Result.SUCCESS
    assert outcome.action_id == pipeline.fake.actions_of(vm)[0]["id"]
    assert pipeline.fake.count("POST") == 0


def test_an_intent_left_by_a_dead_process_is_resolved_by_looking_never_by_posting(
    pipeline: Pipeline,
) -> None:
    vm = first_vm(pipeline)
    # Whether the dead process's create left the host nobody knows: it is never re-sent.
    pipeline.ledger.add_pending(PendingAction(vm, None, "snapshot", SLOT, START))
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.AMBIGUOUS, "ambiguous")
    assert pipeline.creates() == 0
    assert pipeline.ledger.pending_for(vm) is None
    after = pipeline.engine.start_slot(make_policy(vm), SLOT + timedelta(days=1)).result()
    assert after.result is Result.SUCCESS
    assert pipeline.creates() == 1


def test_an_ambiguous_create_is_sent_once_whatever_the_next_answers_would_be(
    pipeline: Pipeline,
) -> None:
    vm = first_vm(pipeline)
    pipeline.fake.inject(Fault(kind="status", endpoint="create_snapshot", count=5, status=503))
    outcome = pipeline.engine.start_slot(make_policy(vm), SLOT).result()
    assert (outcome.result, outcome.reason) == (Result.AMBIGUOUS, "ambiguous")
    assert pipeline.creates() == 1
    assert pipeline.clock.now() - START >= timedelta(minutes=30)  # looked until action_timeout


@pytest.mark.parametrize(
    ("action_seconds", "result", "detail"),
    [
        (1.0, Result.SUCCESS, "but the snapshot changed: adopted"),
        (600.0, Result.UNVERIFIED, "; the snapshot did not change"),
    ],
)
def test_an_action_the_api_no_longer_knows_is_judged_by_the_snapshot_at_once(
    clock: ManualClock, tmp_path: Path, action_seconds: float, result: Result, detail: str
) -> None:
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=action_seconds, clock=clock) as fake:
        pipeline = build_pipeline(fake, clock, tmp_path)
        vm = fake.vm_ids[0]
        fake.clear_snapshot(vm)
        fake.inject(Fault(kind="status", endpoint="get_action", status=404, count=None))
        started = clock.now()
        outcome = pipeline.engine.start_slot(make_policy(vm), START).result()
        pipeline.client.close()
        assert outcome.result is result
        assert f"the API no longer knows action {outcome.action_id}" in outcome.detail
        assert detail in outcome.detail
        assert fake.count("GET", f"/actions/{outcome.action_id}") == 1
        assert clock.now() - started < timedelta(seconds=60)
        assert pipeline.creates() == 1
        assert pipeline.ledger.pending() == []
        pipeline.ledger.close()
