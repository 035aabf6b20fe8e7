"""Notifications: the ping, webhooks, their delivery and ``snapd notify test``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from snapd.clock import ManualClock
from snapd.config import VirtualMachinePolicy
from snapd.config.notify import NotifySettings, PingTarget, WebhookTarget
from snapd.fakeapi import FakeHostinger, Fault
from snapd.metrics import Metrics
from snapd.notify.delivery import DeliveryWorker
from snapd.notify.notifier import Notifier
from snapd.pipeline.engine import Engine
from snapd.pipeline.outcome import Outcome, Result, SnapshotState
from snapd.pipeline.wait import PollSettings
from tests.conftest import START, build_pipeline, make_policy
from tests.support.notify import SECRET, Receiver, receiver


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


def ping_policy(vm: int, base: str, **webhooks: object) -> VirtualMachinePolicy:
    settings = NotifySettings(
        ping=PingTarget(f"{base}/ping/{SECRET}/{{vm_id}}", timedelta(seconds=2)), webhooks=()
    )
    return make_policy(vm, notify=settings)


def notifier_for(
    policies: list[VirtualMachinePolicy],
    clock: ManualClock,
    metrics: Metrics | None = None,
    backoff: float = 0.01,
) -> Notifier:
    by_id = {policy.id: policy for policy in policies}
    counter = metrics.notification_finished if metrics is not None else None
    return Notifier(by_id.get, DeliveryWorker(counter, backoff=backoff), clock=clock)


class FanOut:
    """The engine's observer: a recording list and the notifier, as the daemon fans out."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.outcomes: list[Outcome] = []

    def outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.notifier.outcome(outcome)

    def snapshot_seen(self, virtual_machine_id: int, snapshot: SnapshotState | None) -> None:
        return None

    def api_unauthorized(self) -> None:
        return None


def engine_for(
    fake: FakeHostinger, clock: ManualClock, state_dir: Path, observer: FanOut
) -> Engine:
    pipeline = build_pipeline(fake, clock, state_dir)
    poll = PollSettings(first_delay=10.0, minimum_delay=1.0, maximum_delay=60.0)
    return Engine(
        pipeline.client, pipeline.ledger, pipeline.locks, clock, observer=observer, poll=poll
    )


# -- the ping, from a real pipeline ----------------------------------------------------


def test_a_verified_snapshot_pings_start_then_success(
    fake: FakeHostinger, clock: ManualClock, tmp_path: Path, hook: Receiver
) -> None:
    vm = fake.vm_ids[0]
    policy = ping_policy(vm, hook.url)
    notifier = notifier_for([policy], clock)
    engine = engine_for(fake, clock, tmp_path, FanOut(notifier))

    notifier.slot_started(policy, START, dry_run=False)
    outcome = engine.start_slot(policy, START).result()
    notifier.close(5.0)

    assert outcome.result is Result.SUCCESS
    assert hook.paths() == [f"/ping/{SECRET}/{vm}/start", f"/ping/{SECRET}/{vm}"]
    body = hook.received[1].body
    assert f"VM {vm} (vm-{vm}): snapshot verified" in body


@pytest.mark.parametrize(
    ("fault", "result"),
    [("action_error", Result.FAILED), ("action_never_finishes", Result.TIMEOUT)],
)
def test_a_failed_slot_pings_start_then_fail_with_the_reason(
    fake: FakeHostinger,
    clock: ManualClock,
    tmp_path: Path,
    hook: Receiver,
    fault: str,
    result: Result,
) -> None:
    vm = fake.vm_ids[0]
    fake.inject(Fault(kind=fault, endpoint="create_snapshot", count=1))
    policy = ping_policy(vm, hook.url)
    notifier = notifier_for([policy], clock)
    engine = engine_for(fake, clock, tmp_path, FanOut(notifier))

    notifier.slot_started(policy, START, dry_run=False)
    outcome = engine.start_slot(policy, START).result()
    notifier.close(5.0)

    assert outcome.result is result
    assert hook.paths() == [f"/ping/{SECRET}/{vm}/start", f"/ping/{SECRET}/{vm}/fail"]
    assert outcome.reason in hook.received[1].body


def synthetic(result: Result, snapshot: SnapshotState | None = None, **changes: object) -> Outcome:
    base = Outcome(
        virtual_machine_id=7,
        kind="snapshot",
        slot=START,
        result=result,
        reason="reason_name",
        detail="what happened",
        started_at=START,
        finished_at=START + timedelta(minutes=5),
        old_snapshot=snapshot,
        correlation_id="corr-123",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


FRESH = SnapshotState(1, START - timedelta(hours=2), START + timedelta(days=18))
STALE = SnapshotState(1, START - timedelta(days=3), START + timedelta(days=17))


@pytest.mark.parametrize(
    ("outcome", "suffix"),
    [
        (synthetic(Result.UNVERIFIED), "/fail"),
        (synthetic(Result.AMBIGUOUS), "/fail"),
        (synthetic(Result.SKIPPED, FRESH), ""),  # still protected: a success for the switch
        (synthetic(Result.SKIPPED, STALE), "/fail"),  # older than the 24h30m RPO
        (synthetic(Result.SKIPPED, None), "/fail"),  # no restore point at all
        (synthetic(Result.SKIPPED, SnapshotState(None, None, None)), "/fail"),  # age unknown
    ],
    ids=["unverified", "ambiguous", "fresh-skip", "stale-skip", "no-snapshot", "unknown-age"],
)
def test_every_failure_kind_pings_fail_and_a_harmless_skip_pings_success(
    hook: Receiver, outcome: Outcome, suffix: str
) -> None:
    clock = ManualClock(START + timedelta(minutes=5))
    policy = ping_policy(7, hook.url)
    notifier = notifier_for([policy], clock)
    notifier.slot_started(policy, START, dry_run=False)
    notifier.outcome(outcome)
    notifier.close(5.0)
    assert hook.paths() == [f"/ping/{SECRET}/7/start", f"/ping/{SECRET}/7{suffix}"]
    assert "correlation id: corr-123" in hook.received[1].body


def test_a_dry_run_sends_no_ping_but_marks_its_webhooks(hook: Receiver) -> None:
    clock = ManualClock(START)
    webhook = WebhookTarget(f"{hook.url}/hook", frozenset({"success"}), "json", timedelta(2))
    policy = ping_policy(7, hook.url)
    assert policy.notify is not None
    policy = replace(policy, notify=replace(policy.notify, webhooks=(webhook,)))
    notifier = notifier_for([policy], clock)
    notifier.slot_started(policy, START, dry_run=True)
    notifier.outcome(synthetic(Result.DRY_RUN, FRESH, dry_run=True))
    notifier.close(5.0)
    assert hook.paths() == ["/hook"]
    assert json.loads(hook.received[0].body)["dry_run"] is True


# -- webhooks --------------------------------------------------------------------------


def test_webhooks_get_only_the_events_they_ask_for_in_their_format(hook: Receiver) -> None:
    clock = ManualClock(START + timedelta(minutes=5))
    failures = WebhookTarget(f"{hook.url}/failures", frozenset({"failure"}), "json", timedelta(2))
    chat = WebhookTarget(f"{hook.url}/chat", frozenset({"success", "skip"}), "slack", timedelta(2))
    policy = make_policy(7, notify=NotifySettings(ping=None, webhooks=(failures, chat)))
    notifier = notifier_for([policy], clock)

    notifier.outcome(synthetic(Result.SUCCESS, new_snapshot=FRESH))
    notifier.outcome(synthetic(Result.FAILED, FRESH))
    notifier.close(5.0)

    by_path = {item.path: item for item in hook.wait_for(2)}
    assert sorted(by_path) == ["/chat", "/failures"]
    assert json.loads(by_path["/chat"].body) == {
        "text": "snapd: VM 7 (vm-7): snapshot verified (reason_name)\nwhat happened\n"
        "slot: 2025-06-01T03:00:00Z\ncorrelation id: corr-123"
    }
    failure = json.loads(by_path["/failures"].body)
    assert by_path["/failures"].content_type == "application/json"
    assert failure["event"] == "failure"
    assert failure["vm"] == {"id": 7, "name": "vm-7"}
    assert failure["outcome"] == "failed"
    assert failure["reason"] == "reason_name"
    assert failure["slot"] == "2025-06-01T03:00:00Z"
    assert failure["snapshot"]["created_at"] == "2025-06-01T01:00:00Z"
    assert failure["correlation_id"] == "corr-123"
    assert failure["snapd_version"]


def test_an_expiring_snapshot_is_announced_once(hook: Receiver) -> None:
    clock = ManualClock(START)
    target = WebhookTarget(hook.url, frozenset({"expiring", "hold_expiring"}), "json", timedelta(2))
    policy = make_policy(7, notify=NotifySettings(ping=None, webhooks=(target,)))
    notifier = notifier_for([policy], clock)
    soon = SnapshotState(1, START - timedelta(days=19), START + timedelta(hours=6))
    for _ in range(3):
        notifier.snapshot_watched(policy, soon, held=True)
    notifier.snapshot_watched(policy, FRESH, held=True)  # 18 days left: nothing to say
    notifier.close(5.0)
    events = sorted(json.loads(item.body)["event"] for item in hook.received)
    assert events == ["expiring", "hold_expiring"]


# -- delivery --------------------------------------------------------------------------


def test_a_hanging_receiver_does_not_delay_the_next_vms_snapshot(
    fake: FakeHostinger, clock: ManualClock, tmp_path: Path, hook: Receiver
) -> None:
    hook.hang.set()
    first, second = fake.vm_ids[:2]
    policies = [ping_policy(first, hook.url), ping_policy(second, hook.url)]
    notifier = notifier_for(policies, clock)
    engine = engine_for(fake, clock, tmp_path, FanOut(notifier))

    began = time.monotonic()
    for policy in policies:
        notifier.slot_started(policy, START, dry_run=False)
        assert engine.start_slot(policy, START).result().result is Result.SUCCESS
    elapsed = time.monotonic() - began
    notifier.close(0.0)

    assert elapsed < 1.5  # each ping may hang for 2 s; neither snapshot waited for it
    assert fake.count("POST", "/snapshot") == 2


def test_a_receiver_answering_500_is_retried_three_times_and_counted(hook: Receiver) -> None:
    hook.status = 500
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    policy = ping_policy(7, hook.url)
    notifier = notifier_for([policy], ManualClock(START), metrics)
    notifier.outcome(synthetic(Result.SUCCESS, new_snapshot=FRESH))
    notifier.close(5.0)

    assert hook.paths() == [f"/ping/{SECRET}/7"] * 3
    labels = {"kind": "ping", "result": "failed"}
    assert registry.get_sample_value("snapd_notifications_total", labels) == 1
    sent = {"kind": "ping", "result": "sent"}
    assert registry.get_sample_value("snapd_notifications_total", sent) == 0


def test_a_refused_notification_is_not_retried(hook: Receiver) -> None:
    hook.status = 404
    policy = ping_policy(7, hook.url)
    notifier = notifier_for([policy], ManualClock(START))
    notifier.outcome(synthetic(Result.SUCCESS, new_snapshot=FRESH))
    notifier.close(5.0)
    assert len(hook.received) == 1


def test_no_log_line_carries_a_notification_urls_path_or_query(hook: Receiver) -> None:
    hook.status = 500
    target = WebhookTarget(
        f"{hook.url}/hooks/{SECRET}?token={SECRET}", frozenset({"failure"}), "slack", timedelta(2)
    )
    unreachable = PingTarget(f"http://127.0.0.1:9/{SECRET}?key={SECRET}", timedelta(seconds=1))
    policy = make_policy(7, notify=NotifySettings(ping=unreachable, webhooks=(target,)))
    with capture_logs() as logs:
        notifier = notifier_for([policy], ManualClock(START))
        notifier.outcome(synthetic(Result.FAILED, FRESH))
        notifier.close(10.0)
    failed = [line for line in logs if line["event"] == "notification_failed"]
    assert {line["kind"] for line in failed} == {"ping", "webhook"}
    assert {line["target"] for line in failed} == {hook.url, "http://127.0.0.1:9"}
    assert not [line for line in logs if SECRET in repr(line)]
