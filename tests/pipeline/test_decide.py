"""The pure decision: every guard, alone and in the combinations that matter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from snapd.pipeline.decide import Facts, Guards, Reason, Step, decide

NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
GUARDS = Guards(
    allowed_states=("running",), min_age=timedelta(hours=6), protect_manual=timedelta(hours=24)
)
CLEAR = Facts(
    now=NOW,
    virtual_machine_state="running",
    actions_locked=False,
    snapshot_created_at=NOW - timedelta(days=1),
    snapshot_made_by_snapd=True,
)
HOURS = timedelta(hours=1)


@pytest.mark.parametrize(
    ("changes", "action", "reason"),
    [
        ({}, Step.CREATE, Reason.CREATE),
        (
            {"snapshot_created_at": None, "snapshot_made_by_snapd": False},
            Step.CREATE,
            Reason.CREATE,
        ),
        ({"slot_already_done": True}, Step.SKIP, Reason.SLOT_ALREADY_DONE),
        ({"virtual_machine_state": "stopped"}, Step.SKIP, Reason.VM_STATE_NOT_ALLOWED),
        ({"virtual_machine_state": "brand_new_state"}, Step.SKIP, Reason.VM_STATE_NOT_ALLOWED),
        ({"actions_locked": True}, Step.DEFER, Reason.ACTIONS_LOCKED),
        ({"held_until": NOW + HOURS}, Step.SKIP, Reason.HELD),
        ({"held_until": NOW - HOURS}, Step.CREATE, Reason.CREATE),
        ({"snapshot_created_at": NOW - 5 * HOURS}, Step.SKIP, Reason.SNAPSHOT_TOO_YOUNG),
        ({"snapshot_created_at": NOW - 7 * HOURS}, Step.CREATE, Reason.CREATE),
        (
            {"snapshot_created_at": NOW - 7 * HOURS, "snapshot_made_by_snapd": False},
            Step.SKIP,
            Reason.MANUAL_SNAPSHOT_PROTECTED,
        ),
        (
            {"snapshot_created_at": NOW - 25 * HOURS, "snapshot_made_by_snapd": False},
            Step.CREATE,
            Reason.CREATE,
        ),
        ({"health_ok": False}, Step.SKIP, Reason.HEALTH_CHECK_FAILED),
        (
            {"health_ok": False, "snapshot_expires_at": NOW + HOURS},
            Step.SKIP,
            Reason.HEALTH_CHECK_FAILED,
        ),
        ({"health_ok": False, "snapshot_created_at": None}, Step.CREATE, Reason.CREATE_UNHEALTHY),
        (
            {"health_ok": False, "snapshot_present": True, "snapshot_expires_at": NOW - HOURS},
            Step.CREATE,
            Reason.CREATE_UNHEALTHY,
        ),
        (
            {"health_ok": False, "snapshot_created_at": None, "pre_hook_ok": False},
            Step.SKIP,
            Reason.HOOK_VETOED,
        ),
        (
            {"health_ok": False, "snapshot_created_at": None, "dry_run": True},
            Step.SKIP,
            Reason.DRY_RUN,
        ),
        ({"health_ok": True}, Step.CREATE, Reason.CREATE),
        ({"pre_hook_ok": False}, Step.SKIP, Reason.HOOK_VETOED),
        ({"dry_run": True}, Step.SKIP, Reason.DRY_RUN),
        # combinations: the most final reason wins
        (
            {"slot_already_done": True, "virtual_machine_state": "stopped"},
            Step.SKIP,
            Reason.SLOT_ALREADY_DONE,
        ),
        (
            {"virtual_machine_state": "stopped", "actions_locked": True},
            Step.SKIP,
            Reason.VM_STATE_NOT_ALLOWED,
        ),
        ({"held_until": NOW + HOURS, "actions_locked": True}, Step.SKIP, Reason.HELD),
        (
            {"snapshot_created_at": NOW - HOURS, "actions_locked": True},
            Step.SKIP,
            Reason.SNAPSHOT_TOO_YOUNG,
        ),
        ({"actions_locked": True, "health_ok": False}, Step.DEFER, Reason.ACTIONS_LOCKED),
        ({"health_ok": False, "pre_hook_ok": False}, Step.SKIP, Reason.HEALTH_CHECK_FAILED),
        ({"dry_run": True, "health_ok": False}, Step.SKIP, Reason.HEALTH_CHECK_FAILED),
        (
            {"dry_run": True, "snapshot_created_at": NOW - HOURS},
            Step.SKIP,
            Reason.SNAPSHOT_TOO_YOUNG,
        ),
        # force ignores min_age, protect_manual and holds ...
        ({"force": True, "snapshot_created_at": NOW - HOURS}, Step.CREATE, Reason.CREATE),
        (
            {"force": True, "snapshot_created_at": NOW - HOURS, "snapshot_made_by_snapd": False},
            Step.CREATE,
            Reason.CREATE,
        ),
        ({"force": True, "held_until": NOW + HOURS}, Step.CREATE, Reason.CREATE),
        # ... and nothing else
        (
            {"force": True, "virtual_machine_state": "stopped"},
            Step.SKIP,
            Reason.VM_STATE_NOT_ALLOWED,
        ),
        ({"force": True, "actions_locked": True}, Step.DEFER, Reason.ACTIONS_LOCKED),
        ({"force": True, "health_ok": False}, Step.SKIP, Reason.HEALTH_CHECK_FAILED),
        ({"force": True, "pre_hook_ok": False}, Step.SKIP, Reason.HOOK_VETOED),
        ({"force": True, "slot_already_done": True}, Step.SKIP, Reason.SLOT_ALREADY_DONE),
        ({"force": True, "dry_run": True}, Step.SKIP, Reason.DRY_RUN),
    ],
)
def test_decision_table(changes: dict[str, object], action: Step, reason: Reason) -> None:
    decision = decide(replace(CLEAR, **changes), GUARDS)  # type: ignore[arg-type]
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.detail


def test_zero_guards_never_block() -> None:
    off = Guards(allowed_states=("running",), min_age=timedelta(0), protect_manual=timedelta(0))
    facts = replace(CLEAR, snapshot_created_at=NOW, snapshot_made_by_snapd=False)
    assert decide(facts, off).creates


def test_more_allowed_states_admit_more_machines() -> None:
    guards = replace(GUARDS, allowed_states=("running", "stopped"))
    assert decide(replace(CLEAR, virtual_machine_state="stopped"), guards).creates


def test_the_detail_says_how_old_the_snapshot_is() -> None:
    decision = decide(replace(CLEAR, snapshot_created_at=NOW - 2 * HOURS), GUARDS)
    assert decision.detail == "current snapshot is 2h old, younger than min_age 6h"
