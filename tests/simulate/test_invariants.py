"""Each invariant broken on purpose by a test double: exit 3, the breach named."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from snapd.checks.result import HookResult
from snapd.config import VirtualMachinePolicy
from snapd.ledger.base import LedgerBase
from snapd.pipeline import engine, look, recheck, slot_checks
from snapd.pipeline.decide import Guards
from snapd.pipeline.engine import Engine
from snapd.pipeline.later import Later
from snapd.pipeline.outcome import Outcome
from snapd.simulate.invariants import Rule
from tests.simulate.scenarios import POLICY, simulate

Capture = pytest.CaptureFixture[str]
REAL_START_SLOT = Engine.start_slot

# A person takes a snapshot an hour before the third slot.
MANUAL_BEFORE_A_SLOT = "- {kind: manual, vm: 1002, at: 2d2h}\n"


def _without_age_guards(policy: VirtualMachinePolicy) -> Guards:
    """The guards with min_age and protect_manual switched off: a broken pipeline."""
    return Guards(policy.allowed_states, timedelta(0), timedelta(0))


@pytest.fixture
def age_guards_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (look, recheck, slot_checks):
        monkeypatch.setattr(module, "guards_of", _without_age_guards)


def test_a_create_over_a_snapshot_younger_than_min_age_is_a_breach(
    capsys: Capture, tmp_path: Path, age_guards_off: None
) -> None:
    policy = POLICY.replace('"0 3 * * *"', '"0 3 * * *"\n  protect_manual: 0s')
    run = simulate(capsys, tmp_path, "--days", "4", policy=policy, faults=MANUAL_BEFORE_A_SLOT)
    assert run.code == 3
    assert run.rules == [Rule.MIN_AGE.value]
    assert run.report["breaches"][0]["vm"] == 1002


def test_a_create_over_a_young_manual_snapshot_is_a_breach(
    capsys: Capture, tmp_path: Path, age_guards_off: None
) -> None:
    policy = POLICY.replace('"0 3 * * *"', '"0 3 * * *"\n  min_age: 0s')
    run = simulate(capsys, tmp_path, "--days", "4", policy=policy, faults=MANUAL_BEFORE_A_SLOT)
    assert run.code == 3
    assert run.rules == [Rule.PROTECT_MANUAL.value]


def test_a_create_while_the_vm_is_unhealthy_is_a_breach(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run_checks = slot_checks.run_checks

    def health_ignored(*arguments: Any) -> Any:
        *before, _, hook_runner = arguments
        return real_run_checks(*before, lambda check: HookResult(True, "ignored"), hook_runner)

    monkeypatch.setattr(engine, "run_checks", health_ignored)
    faults = "- {kind: unhealthy, vm: 1001, at: 1d, length: 1d}\n"
    run = simulate(capsys, tmp_path, "--days", "3", faults=faults)
    assert run.code == 3
    assert run.rules == [Rule.UNHEALTHY.value]
    assert run.report["breaches"][0]["moment"].startswith("2026-01-06T03:00")


def test_a_slot_sent_twice_is_a_breach(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def twice(
        self: Engine,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        *rest: Any,
        **options: Any,
    ) -> Later[Outcome]:
        first = REAL_START_SLOT(self, policy, slot)
        if slot is None or slot.day != 6:
            return first
        first.result()
        # The slot's identity and row are lost, the guards overridden: it is sent again.
        return REAL_START_SLOT(self, policy, None, force=True)

    monkeypatch.setattr(Engine, "start_slot", twice)
    run = simulate(capsys, tmp_path, "--days", "3")
    assert run.code == 3
    assert Rule.TWO_CREATES.value in run.rules


def test_a_slot_that_silently_never_runs_breaks_the_rpo_outside_any_fault(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dropping(
        self: Engine,
        policy: VirtualMachinePolicy,
        slot: datetime | None,
        *rest: Any,
        **options: Any,
    ) -> Later[Outcome]:
        dry = slot is not None and slot.day == 6 and policy.id == 1002
        return REAL_START_SLOT(self, policy, slot, dry_run=dry)

    monkeypatch.setattr(Engine, "start_slot", dropping)
    run = simulate(capsys, tmp_path, "--days", "4")
    assert run.code == 3
    assert run.rules == [Rule.RPO.value]
    assert run.gaps(1002)[0]["why"] == "missed"
    assert run.gaps(1001) == []


def test_a_create_while_the_vm_is_held_is_a_breach(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A ledger that forgets every hold: the pipeline no longer sees the operator's.
    monkeypatch.setattr(LedgerBase, "active_hold", lambda self, vm, now: None)
    faults = "- {kind: hold, vm: 1002, at: 1d, length: 1d}\n"
    run = simulate(capsys, tmp_path, "--days", "3", faults=faults)
    assert run.code == 3
    assert run.rules == [Rule.HELD.value]
    assert run.report["breaches"][0]["vm"] == 1002
    assert run.report["breaches"][0]["moment"].startswith("2026-01-06T03:00")
