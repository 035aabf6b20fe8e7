"""The fault table: every row holds the same promises whatever goes wrong.

For each row: the fake executes at most one create for the slot (exactly one where a
snapshot should result), the outcome and its named reason are the ones a user is told,
the metric that counts them moved by one, exactly one ``snapshot_finished`` line reports
it (with the API's correlation id where the API gave one), nothing raised and nothing
logged a traceback, and the next slot, with the fault gone, runs normally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from snapd.checks.hooks import HookResult
from snapd.clock import ManualClock
from snapd.config import HealthCheck, HookCommand
from snapd.fakeapi import FakeHostinger, Fault
from snapd.ledger import Hold
from snapd.pipeline.outcome import Result
from tests.conftest import START, FakeSettings, make_policy
from tests.faults.harness import Scene, healthy_endpoint, scene

SLOT = START
NEXT_SLOT = START + timedelta(days=1)
Arrange = Callable[[Scene], None]


@dataclass(frozen=True)
class Row:
    name: str
    arrange: Arrange
    result: Result
    reason: str
    creates: int
    correlated: bool = False
    after: Result = Result.SUCCESS
    policy: dict[str, Any] = field(default_factory=dict)
    resent: bool = False  # the API said "not executed" (busy, rate limited): sent again


def fault(kind: str, endpoint: str, **options: Any) -> Arrange:
    return lambda scene: scene.fake.inject(Fault(kind=kind, endpoint=endpoint, **options))


def both(*steps: Arrange) -> Arrange:
    def arrange(scene: Scene) -> None:
        for step in steps:
            step(scene)

    return arrange


def no_snapshot_as(answer: str) -> Arrange:
    def arrange(scene: Scene) -> None:
        scene.fake.no_snapshot_as = answer

    return arrange


def manual_snapshot(age: timedelta) -> Arrange:
    return lambda scene: scene.fake.set_snapshot(scene.vm, START - age) and None


def vm_state(state: str) -> Arrange:
    return lambda scene: scene.fake.set_vm_state(scene.vm, state)


def locked(scene: Scene) -> None:
    scene.fake.set_actions_lock(scene.vm, "locked")


def pre_hook_that(step: Arrange) -> Arrange:
    """A pre-hook during which something changes (an operator acts while it runs)."""

    def arrange(scene: Scene) -> None:
        def runner(hook: HookCommand, environment: dict[str, str]) -> HookResult:
            step(scene)
            return HookResult(True, "exit code 0")

        scene.engine.hook_runner = runner

    return arrange


def hold_now(scene: Scene) -> None:
    scene.ledger.set_hold(Hold(scene.vm, START + timedelta(hours=6), "upgrade", START))


def snapshot_taken_by_hand(scene: Scene) -> None:
    scene.fake.set_snapshot(scene.vm, scene.clock.now())


PRE_HOOK = {"pre_hook": HookCommand(("prepare",), timedelta(minutes=5))}
NO_STORM_GUARD = {"min_age": timedelta(0)}
SUCCESS = (Result.SUCCESS, "created", 1)


def skewed(seconds: float) -> Arrange:
    def arrange(scene: Scene) -> None:
        scene.fake.clock_skew = seconds

    return arrange


def lagging(seconds: float) -> Arrange:
    def arrange(scene: Scene) -> None:
        scene.fake.action_list_lag = seconds

    return arrange


def written_as(style: str) -> Arrange:
    def arrange(scene: Scene) -> None:
        scene.fake.snapshot_time_style = style

    return arrange


LOST_ANSWERS = {
    "5xx": fault("accept_then_fail", "create_snapshot"),
    "reset": fault("accept_then_drop", "create_snapshot"),
    "garbage 200": fault("malformed_json", "create_snapshot"),
    "timeout": fault("accept_then_timeout", "create_snapshot", seconds=3.0),
}
CLOCKS = {
    "server clock 10 min behind": skewed(-600),
    "server clock 10 min ahead": skewed(600),
    "action list 30 s behind": lagging(30),
}
READ_FAILURES = [
    Row(f"{status} on {endpoint} once", fault("status", endpoint, status=status), *SUCCESS)
    for status in (500, 502, 503)
    for endpoint in ("list_vms", "get_snapshot")  # the pre-flight's VM state comes from the list
]
LOST_CREATE_ANSWERS = [
    Row(f"{lost} after the create, {when}", both(clock, arrange), *SUCCESS)
    for lost, arrange in LOST_ANSWERS.items()
    for when, clock in CLOCKS.items()
]
NO_SNAPSHOT = [
    Row(f"no snapshot as {answer}", no_snapshot_as(answer), *SUCCESS)
    for answer in ("404", "null", "empty", "null_fields")
]
SNAPSHOT_TIMES = [
    Row(
        f"a manual snapshot's created_at as {style}",
        both(written_as(style), manual_snapshot(timedelta(hours=1))),
        Result.SKIPPED, "manual_snapshot_protected", 0, policy=NO_STORM_GUARD,
    )
    for style in ("iso_offset_fraction", "epoch", "epoch_text", "rfc2822", "utc_suffix")
]  # fmt: skip
TOO_LONG = 90_000_000

ROWS = [
    *READ_FAILURES,
    Row(
        "503 on every snapshot read",
        fault("status", "get_snapshot", status=503, count=None),
        Result.FAILED, "api_error", 0, correlated=True,
    ),
    Row("429 on a read", fault("status", "list_vms", status=429), *SUCCESS),
    Row(
        "429 on a read without Retry-After",
        fault("status", "get_snapshot", status=429, headers={"Retry-After": ""}),
        *SUCCESS,
    ),
    Row(
        "429 on a read with a lying Retry-After of a day",
        fault("status", "list_vms", status=429, headers={"Retry-After": "86400"}),
        *SUCCESS,
    ),
    Row(
        "429 on the create with Retry-After of a minute",
        fault("status", "create_snapshot", status=429, headers={"Retry-After": "60"}),
        *SUCCESS, resent=True,
    ),
    Row(
        "401 on pre-flight",
        fault("status", "list_vms", status=401, count=None),
        Result.FAILED, "authentication_failed", 0, correlated=True,
    ),
    Row(
        "a snapshot read too large to hold",
        fault("huge_body", "get_snapshot", size=TOO_LONG),
        Result.FAILED, "unreadable_snapshot", 0,
    ),
    Row(
        "a VM list nested too deep",
        fault("deep_json", "list_vms", count=None),
        Result.FAILED, "api_error", 0,
    ),
    Row("a create answered with JSON nested too deep", fault("deep_json", "create_snapshot"),
        *SUCCESS),
    Row("a create answered a byte at a time", fault("trickle_body", "create_snapshot", seconds=0.5),
        *SUCCESS),
    *NO_SNAPSHOT,
    *SNAPSHOT_TIMES,
    Row(
        "a snapshot whose created_at nobody can read",
        both(written_as("unreadable"), manual_snapshot(timedelta(hours=1))),
        Result.SKIPPED, "snapshot_age_unknown", 0,
    ),
    *LOST_CREATE_ANSWERS,
    # A 5xx before execution looks the same from outside: never re-sent, ends ambiguous.
    Row(
        "503 on the create, not executed",
        fault("status", "create_snapshot", status=503, count=None),
        Result.AMBIGUOUS, "ambiguous", 0, correlated=True,
    ),
    Row("422 busy twice", fault("status", "create_snapshot", status=422, count=2), *SUCCESS,
        resent=True),
    Row(
        "422 busy for longer than busy_timeout",
        fault("status", "create_snapshot", status=422, count=None),
        Result.FAILED, "busy_timeout", 0, correlated=True, resent=True,
    ),
    Row(
        "action ends in error",
        fault("action_error", "create_snapshot"),
        Result.FAILED, "action_error", 1,
    ),
    Row(
        "action never ends",
        fault("action_never_finishes", "create_snapshot"),
        Result.TIMEOUT, "action_timeout", 1, after=Result.TIMEOUT,
    ),
    Row(
        "undocumented action states",
        fault("action_states", "create_snapshot", states=["created", "started", "success"]),
        *SUCCESS,
    ),
    Row(
        "401 while polling the action",
        fault("status", "get_action", status=401),
        Result.FAILED, "authentication_failed", 1,
    ),
    Row("VM stopped", vm_state("stopped"), Result.SKIPPED, "vm_state_not_allowed", 0),
    Row("actions_lock locked", locked, Result.FAILED, "busy_timeout", 0),
    Row(
        "manual snapshot an hour old",
        manual_snapshot(timedelta(hours=1)),
        Result.SKIPPED, "manual_snapshot_protected", 0, policy=NO_STORM_GUARD,
    ),
    # Stale guards: the world changes while the pre-hook runs.
    Row("hold set during the pre-hook", pre_hook_that(hold_now), Result.SKIPPED, "held", 0,
        policy=PRE_HOOK),
    Row(
        "snapshot taken by hand during the pre-hook",
        pre_hook_that(snapshot_taken_by_hand),
        Result.SKIPPED, "snapshot_too_young", 0, policy=PRE_HOOK,
    ),
]  # fmt: skip


@pytest.fixture
def fake_settings() -> FakeSettings:
    return FakeSettings(vm_count=1, action_seconds=60.0, seed=3)


@pytest.fixture(scope="module")
def health_url() -> Iterator[str]:
    with healthy_endpoint() as url:
        yield url


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_every_fault_keeps_the_promises(
    row: Row, fake: FakeHostinger, clock: ManualClock, tmp_path: Path, health_url: str
) -> None:
    check = HealthCheck(health_url, timedelta(seconds=5), ())
    with scene(fake, clock, tmp_path) as current:
        policy = make_policy(current.vm, **{"health_check": check, **row.policy})
        row.arrange(current)
        outcome = current.run(policy, SLOT)

        assert (outcome.result, outcome.reason) == (row.result, row.reason), outcome.detail
        assert current.creates_accepted() == row.creates
        if not row.resent:
            assert current.posts() <= 1  # an answer that may mean "executed" ends the sending
        if outcome.result is not Result.INTERRUPTED:
            assert current.counted(outcome) == 1
        lines = current.finished_lines()
        assert len(lines) == 1
        assert lines[0]["result"] == row.result.value and lines[0]["reason"] == row.reason
        if row.correlated:
            assert lines[0]["correlation_id"]
        assert current.tracebacks() == []

        _heal(current)
        clock.set(NEXT_SLOT + timedelta(hours=1))
        after = current.run(policy, NEXT_SLOT)
        assert after.result is row.after, after.detail
        assert current.creates_accepted() <= row.creates + 1
        assert current.leaked_secrets(outcome.detail, after.detail) == []


def _heal(current: Scene) -> None:
    """The fault is gone: the next slot meets a normal API and a normal VM."""
    current.fake.clear_faults()
    current.fake.set_vm_state(current.vm, "running")
    current.fake.set_actions_lock(current.vm, "unlocked")
    current.engine.hook_runner = lambda hook, environment: HookResult(True, "exit code 0")
    current.ledger.release_hold(current.vm)
    current.fake.clock_skew = 0
    current.fake.action_list_lag = 0
    current.fake.snapshot_time_style = "iso"
