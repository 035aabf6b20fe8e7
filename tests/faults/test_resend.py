"""A request refused as "not executed" is sent again only after the guards are asked again,
on fresh facts; and only the documented empty answers mean "no snapshot".

Answers the fake does not give (a 409 on demand, a 200 whose body is an error) come from
a rewriting proxy between snapd and the fake (:mod:`tests.faults.proxy`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from snapd.checks.result import HookResult
from snapd.cli.dispatch import main
from snapd.clock import ManualClock, utc_now
from snapd.config import HookCommand
from snapd.fakeapi import FakeHostinger
from snapd.ledger import Hold, OperationKind, PendingAction, SqliteLedger
from snapd.pipeline.outcome import Result
from tests.conftest import START, TOKEN, FakeSettings, make_policy
from tests.faults.harness import Scene, scene
from tests.faults.proxy import Rewrite, RewritingProxy, rewriting_proxy

BUSY = {"message": "Another action is in progress", "correlation_id": "busy-1"}
UNAVAILABLE = {"message": "Service temporarily unavailable", "correlation_id": "abc"}


@pytest.fixture
def fake_settings() -> FakeSettings:
    return FakeSettings(vm_count=1, action_seconds=30.0, seed=11)


@pytest.fixture(autouse=True)
def old_snapshot(fake: FakeHostinger) -> None:
    fake.set_snapshot(fake.vm_ids[0], START - timedelta(days=2))


@pytest.fixture
def proxy(fake: FakeHostinger) -> Iterator[RewritingProxy]:
    with rewriting_proxy(fake.base_url) as running:
        yield running


@pytest.fixture
def current(
    fake: FakeHostinger, clock: ManualClock, proxy: RewritingProxy, tmp_path: Path
) -> Iterator[Scene]:
    with scene(fake, clock, tmp_path, base_url=proxy.base_url) as built:
        yield built


def test_a_hold_placed_while_the_create_is_refused_as_busy_stops_it_from_being_sent_again(
    current: Scene, proxy: RewritingProxy, tmp_path: Path
) -> None:
    def hold_from_another_process(number: int) -> None:
        if number == 1:  # `snapd hold VM --for 6h`, while snapd waits to send again
            now = current.clock.now()
            with SqliteLedger.open(tmp_path) as other:
                other.set_hold(Hold(current.vm, now + timedelta(hours=6), "upgrade", now))

    proxy.rewrite(Rewrite("POST", "/snapshot", 409, BUSY, times=3, then=hold_from_another_process))
    outcome = current.run(make_policy(current.vm), START)

    assert (outcome.result, outcome.reason) == (Result.SKIPPED, "held")
    assert [(r.method, r.status) for r in proxy.rewritten] == [("POST", 409)]
    assert current.posts() == 0  # nothing reached the fake after the hold
    assert current.ledger.pending_for(current.vm) is None
    assert current.ledger.history(current.vm)[0].reason == "held"
    assert current.counted(outcome) == 1


def test_a_snapshot_taken_by_hand_while_snapd_is_refused_as_busy_is_not_overwritten(
    current: Scene, fake: FakeHostinger
) -> None:
    manual: list[int] = []

    def pre_hook_during_which_an_operator_snapshots(*arguments: object) -> HookResult:
        answer = requests.post(
            f"{fake.base_url}/api/vps/v1/virtual-machines/{current.vm}/snapshot",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        manual.append(answer.json()["id"])
        return HookResult(ok=True, detail="pre-hook ran")

    current.engine.hook_runner = pre_hook_during_which_an_operator_snapshots
    hook = HookCommand(("/bin/sleep", "4"), timedelta(seconds=10))
    policy = make_policy(current.vm, min_age=timedelta(hours=1), pre_hook=hook)
    outcome = current.run(policy, START)

    assert (outcome.result, outcome.reason) == (Result.SKIPPED, "snapshot_too_young")
    creates = [a for a in fake.actions_of(current.vm) if a["name"] == "create_snapshot"]
    assert [a["id"] for a in creates] == manual  # the operator's, and no create of snapd's
    busy = fake.requests_matching("POST", "/snapshot")
    assert [request.status for request in busy][1:] == [422]  # refused once, never re-sent
    assert current.ledger.pending_for(current.vm) is None


def test_a_create_refused_with_429_is_not_sent_again_once_the_vm_was_stopped(
    current: Scene, proxy: RewritingProxy, fake: FakeHostinger
) -> None:
    def operator_stops_the_vm(number: int) -> None:
        fake.set_vm_state(current.vm, "stopped")

    limited = {"message": "Too many requests", "correlation_id": "limit-1"}
    proxy.rewrite(Rewrite("POST", "/snapshot", 429, limited, then=operator_stops_the_vm))
    outcome = current.run(make_policy(current.vm), START)
    assert (outcome.result, outcome.reason) == (Result.SKIPPED, "vm_state_not_allowed")
    assert current.posts() == 0
    assert current.ledger.pending_for(current.vm) is None


def test_a_create_whose_intent_another_writer_replaced_is_not_sent_again_nor_its_row_removed(
    current: Scene, proxy: RewritingProxy, tmp_path: Path
) -> None:
    theirs = PendingAction(current.vm, None, OperationKind.SNAPSHOT, None, START)

    def another_snapd_takes_the_vm(number: int) -> None:
        with SqliteLedger.open(tmp_path) as other:
            other.add_pending(theirs)

    proxy.rewrite(Rewrite("POST", "/snapshot", 409, BUSY, then=another_snapd_takes_the_vm))
    outcome = current.run(make_policy(current.vm), START + timedelta(days=1))
    assert (outcome.result, outcome.reason) == (Result.SKIPPED, "operation_in_progress")
    assert current.posts() == 0
    assert current.ledger.pending_for(current.vm) == theirs


def test_a_200_snapshot_answer_without_an_id_fails_pre_flight_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeHostinger(token=TOKEN, vm_count=1, action_seconds=1.0, seed=12) as fake:
        vm = fake.vm_ids[0]
        fake.set_snapshot(vm, utc_now() - timedelta(seconds=98))
        with rewriting_proxy(fake.base_url) as proxy:
            proxy.rewrite(Rewrite("GET", "/snapshot", 200, UNAVAILABLE, times=None, forward=True))
            config = tmp_path / "config.yaml"
            config.write_text(
                f"api: {{base_url: '{proxy.base_url}', timeout: 5s}}\n"
                'defaults: {schedule: "0 3 * * *"}\n'
                f"vms:\n  - id: {vm}\n    name: web-1\n"
                f"state_dir: {tmp_path}\n"
            )
            monkeypatch.setenv("HOSTINGER_API_TOKEN", TOKEN)
            code = main(["once", "--all", "-c", str(config)])
        assert code == 1
        assert fake.count("POST") == 0
        with SqliteLedger.open(tmp_path) as ledger:
            (row,) = ledger.history(vm)
        assert (row.outcome, row.reason, row.correlation_id) == (
            "failed",
            "unreadable_snapshot",
            "abc",
        )


def test_a_delete_whose_read_back_is_a_200_error_body_is_unverified_not_a_success(
    current: Scene, proxy: RewritingProxy
) -> None:
    shown = current.operations.current_snapshot(current.vm)
    assert shown is not None
    # The operation's own look passes; the read-back after the action is rewritten.
    proxy.rewrite(Rewrite("GET", "/snapshot", 200, UNAVAILABLE, skip=1, times=None))
    outcome = current.operations.delete(make_policy(current.vm), shown)
    assert (outcome.result, outcome.reason) == (Result.UNVERIFIED, "unverified")
    assert "not a snapshot" in outcome.detail


def test_a_delete_refused_as_busy_is_not_sent_again_once_the_snapshot_changed(
    current: Scene, proxy: RewritingProxy, fake: FakeHostinger
) -> None:
    shown = current.operations.current_snapshot(current.vm)
    assert shown is not None

    def operator_snapshots(number: int) -> None:
        fake.set_snapshot(current.vm, current.clock.now())

    proxy.rewrite(Rewrite("DELETE", "/snapshot", 409, BUSY, times=3, then=operator_snapshots))
    outcome = current.operations.delete(make_policy(current.vm), shown)
    assert (outcome.result, outcome.reason) == (Result.FAILED, "snapshot_changed")
    assert fake.count("DELETE") == 0
    assert fake.snapshot_of(current.vm) is not None


def test_the_first_poll_is_timed_by_how_long_the_action_ran_not_by_an_outage_while_waiting(
    current: Scene, proxy: RewritingProxy, fake: FakeHostinger
) -> None:
    back_at = START + timedelta(seconds=160)

    def outage(number: int) -> None:
        if current.clock.now() >= back_at:
            outage_rule.times = number  # the API answers again after this one

    outage_rule = proxy.rewrite(
        Rewrite("GET", r"/actions/\d+", 503, UNAVAILABLE, times=None, then=outage)
    )
    first = current.run(make_policy(current.vm), START)
    assert first.result is Result.SUCCESS
    assert first.seconds > 150  # the attempt lasted through the outage; the action 30 s

    current.clock.advance(24 * 3600)
    second = current.run(make_policy(current.vm), START + timedelta(days=1))
    assert second.result is Result.SUCCESS
    sent = fake.requests_matching("POST", "/snapshot")[-1].at
    polls = [r.at for r in fake.requests_matching("GET", f"/actions/{second.action_id}")]
    assert 30 <= (polls[0] - sent).total_seconds() <= 40  # 30 s x 1.1 + 1 s, not ~3 min
