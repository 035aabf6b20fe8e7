"""Between a slot's decision to create and the create: the checks, then a last look."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from snapd.checks.result import HookResult
from snapd.config.model import HealthCheck, HookCommand
from snapd.pipeline.decide import Facts, Reason, Step
from snapd.pipeline.outcome import NullOutcomeObserver
from snapd.pipeline.preflight import Preflight
from snapd.pipeline.slot_checks import RECHECK_AFTER, decide_before_create, run_checks
from tests.conftest import START, Pipeline, make_policy

CHECK = HealthCheck("https://vm.example.com/healthz", timedelta(seconds=5), ())
HOOK = HookCommand(("true",), timedelta(seconds=5))


class Checks:
    """Stands for the health check and the hook runner; remembers what ran."""

    def __init__(self, healthy: bool = True, hook_ok: bool = True) -> None:
        self.healthy, self.hook_ok = healthy, hook_ok
        self.ran: list[str] = []

    def health_check(self, check: HealthCheck) -> HookResult:
        self.ran.append("health check")
        return HookResult(self.healthy, "GET healthz", cause="" if self.healthy else "status 503")

    def hook(self, command: HookCommand, environment: Mapping[str, str]) -> HookResult:
        self.ran.append("pre-hook")
        return HookResult(self.hook_ok, "true", exit_code=0 if self.hook_ok else 3)


def facts(now: datetime = START) -> Facts:
    return Facts(
        now=now, virtual_machine_state="running", actions_locked=False,
        snapshot_created_at=START - timedelta(days=2), snapshot_made_by_snapd=True,
        snapshot_present=True,
    )  # fmt: skip


def test_passing_checks_keep_the_decision_to_create_and_run_in_order() -> None:
    checks = Checks()
    policy = make_policy(1, health_check=CHECK, pre_hook=HOOK)

    decision, _ = run_checks(policy, START, facts(), False, checks.health_check, checks.hook)

    assert decision.action is Step.CREATE
    assert checks.ran == ["health check", "pre-hook"]


def test_a_failed_health_check_skips_the_slot_and_the_pre_hook_never_runs() -> None:
    checks = Checks(healthy=False)
    policy = make_policy(1, health_check=CHECK, pre_hook=HOOK)

    decision, _ = run_checks(policy, START, facts(), False, checks.health_check, checks.hook)

    assert decision.reason is Reason.HEALTH_CHECK_FAILED
    assert "status 503" in decision.detail
    assert checks.ran == ["health check"]


def test_a_rehearsal_runs_the_health_check_but_not_the_pre_hook() -> None:
    checks = Checks()
    policy = make_policy(1, health_check=CHECK, pre_hook=HOOK)

    run_checks(policy, START, facts(), True, checks.health_check, checks.hook)

    assert checks.ran == ["health check"]


def test_a_vetoing_pre_hook_skips_the_slot() -> None:
    checks = Checks(hook_ok=False)
    policy = make_policy(1, pre_hook=HOOK)

    decision, _ = run_checks(policy, START, facts(), False, checks.health_check, checks.hook)

    assert decision.reason is Reason.HOOK_VETOED


def test_a_fresh_pre_flight_without_checks_is_not_read_again(pipeline: Pipeline) -> None:
    vm = pipeline.fake.vm_ids[0]
    now = pipeline.clock.now()
    preflight = Preflight("running", False, None)

    decision, used = decide_before_create(
        pipeline.client, pipeline.ledger, NullOutcomeObserver(), pipeline.clock, START,
        make_policy(vm), preflight, facts(now), force=False,
    )  # fmt: skip

    assert decision.creates
    assert used is preflight
    assert pipeline.fake.requests == []


def test_a_stale_pre_flight_reads_the_snapshot_again_and_decides_on_it(
    pipeline: Pipeline,
) -> None:
    vm = pipeline.fake.vm_ids[0]
    stale = facts(pipeline.clock.now())
    pipeline.clock.advance(RECHECK_AFTER.total_seconds() + 1)
    pipeline.fake.set_snapshot(vm, pipeline.clock.now())  # taken by hand meanwhile

    decision, used = decide_before_create(
        pipeline.client, pipeline.ledger, NullOutcomeObserver(), pipeline.clock, START,
        make_policy(vm), Preflight("running", False, None), stale, force=False,
    )  # fmt: skip

    assert used.snapshot is not None and used.snapshot.created_at == pipeline.clock.now()
    assert not decision.creates
    assert pipeline.fake.count("GET", "/snapshot") == 1
