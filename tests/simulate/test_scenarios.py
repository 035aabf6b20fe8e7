"""Scenarios over days of virtual time: the gaps they leave, why, and the exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.simulate.scenarios import POLICY, simulate

Capture = pytest.CaptureFixture[str]


def test_a_policy_without_faults_keeps_every_vm_within_its_rpo(
    capsys: Capture, tmp_path: Path
) -> None:
    run = simulate(capsys, tmp_path, "--days", "30")
    assert run.code == 0, run.output
    for row in run.report["virtual_machines"]:
        assert row["intervals_without_restore_point"] == []
        assert row["hours_within_rpo_percent"] == 100.0
        assert row["creates_per_day"] == pytest.approx(1.0, abs=0.04)
    assert run.report["breaches"] == []


def test_a_vm_unhealthy_for_three_days_goes_without_a_restore_point_for_that_long(
    capsys: Capture, tmp_path: Path
) -> None:
    faults = "- {kind: unhealthy, vm: 1001, at: 2d, length: 3d}\n"
    run = simulate(capsys, tmp_path, "--days", "10", faults=faults)
    assert run.code == 1
    assert run.gaps(1001) == [
        {"from": "2026-01-07T03:31:00Z", "to": "2026-01-10T03:01:00Z", "why": "unhealthy"}
    ]
    assert run.gaps(1002) == []
    vetoes = run.report["virtual_machines"][0]["vetoes"]
    assert vetoes == {"health_check_failed": 3}


def test_a_vm_held_for_two_days_gets_no_snapshot_until_the_hold_ends(
    capsys: Capture, tmp_path: Path
) -> None:
    faults = "- {kind: hold, vm: 1002, at: 2d, length: 2d}\n"
    run = simulate(capsys, tmp_path, "--days", "6", faults=faults)
    assert run.code == 1
    assert [gap["why"] for gap in run.gaps(1002)] == ["hold"]
    assert run.gaps(1001) == []
    vetoes = run.report["virtual_machines"][1]["vetoes"]
    assert vetoes == {"held": 2}
    assert run.report["breaches"] == []


def test_an_outage_of_thirty_hours_leaves_a_gap_named_outage(
    capsys: Capture, tmp_path: Path
) -> None:
    run = simulate(
        capsys, tmp_path, "--days", "10", faults="- {kind: outage, at: 2d, length: 30h}\n"
    )
    assert run.code == 1
    for vm in (1001, 1002):
        assert [gap["why"] for gap in run.gaps(vm)] == ["outage"]
    assert run.report["breaches"] == []


def test_a_daemon_down_for_two_days_catches_up_once_at_its_restart(
    capsys: Capture, tmp_path: Path
) -> None:
    faults = "- {kind: daemon_down, at: 2d12h, length: 2d}\n"
    run = simulate(capsys, tmp_path, "--days", "10", faults=faults)
    assert run.code == 1
    gaps = run.gaps(1001)
    assert {gap["why"] for gap in gaps} == {"daemon down"}
    # The restart at 12:00 runs the missed 03:00 slot at once, right after the start-up
    # look read the VM's snapshot: the gap ends with that minute-long action.
    assert "2026-01-09T12:01:00Z" <= gaps[0]["to"] < "2026-01-09T12:02:00Z"
    assert run.report["breaches"] == []


def test_a_schedule_whose_gap_exceeds_the_snapshot_lifetime_is_refused(
    capsys: Capture, tmp_path: Path
) -> None:
    policy = POLICY.replace('"0 3 * * *"', '"0 3 1 * *"')
    run = simulate(capsys, tmp_path, "--days", "60", policy=policy)
    assert run.code == 2
    assert "lifetime" in run.errors
    assert "Traceback" not in run.errors


def _daily(schedule: str, timezone: str) -> str:
    return POLICY.replace('"0 3 * * *"', f'"{schedule}"\n  timezone: {timezone}')


def test_the_spring_forward_night_in_vilnius_gives_one_snapshot_per_slot_and_no_gap(
    capsys: Capture, tmp_path: Path
) -> None:
    # 03:30 does not exist on 2026-03-29 in Vilnius (03:00 -> 04:00): it runs once, at 04:30.
    policy = _daily("30 3 * * *", "Europe/Vilnius")
    run = simulate(
        capsys, tmp_path, "--days", "4", "--start", "2026-03-27T00:00:00+00:00", policy=policy
    )
    assert run.code == 0, run.output
    for row in run.report["virtual_machines"]:
        assert row["creates_per_day"] == 1.0
        assert row["intervals_without_restore_point"] == []


def test_the_fall_back_night_in_new_york_runs_once_and_meets_its_rpo(
    capsys: Capture, tmp_path: Path
) -> None:
    # 01:30 comes twice on 2026-11-01 in New York: one create. The day after is 25 hours
    # long, and snapd_policy_rpo_seconds counts the zone's one-hour shift on top of the
    # cron gap (24 h): the night meets its RPO.
    policy = _daily("30 1 * * *", "America/New_York")
    run = simulate(
        capsys, tmp_path, "--days", "4", "--start", "2026-10-30T00:00:00+00:00", policy=policy
    )
    assert run.code == 0, run.output
    for row in run.report["virtual_machines"]:
        assert row["creates_per_day"] == 1.0
        assert row["rpo_hours"] == 25.5
        assert row["worst_age_hours"] == 25.0
        assert row["intervals_without_restore_point"] == []


def test_vms_due_together_wait_for_their_actions_side_by_side(
    capsys: Capture, tmp_path: Path
) -> None:
    vms = "\n".join(f"  - id: {3000 + index}\n    name: vm-{index}" for index in range(40))
    policy = (
        "api:\n  base_url: https://developers.hostinger.com\n  requests_per_minute: 600\n"
        f'defaults:\n  schedule: "0 3 * * *"\nvms:\n{vms}\n'
    )
    run = simulate(capsys, tmp_path, "--days", "3", policy=policy)
    assert run.code == 0, run.output
    for row in run.report["virtual_machines"]:
        assert row["worst_age_hours"] == pytest.approx(24.0, abs=0.05)
    # Side by side, every VM looks and sends within the minute its slot falls in.
    assert run.report["peak_requests_in_one_minute"] >= 80


def test_a_vm_unhealthy_from_the_start_still_gets_its_first_restore_point_without_a_breach(
    capsys: Capture, tmp_path: Path
) -> None:
    faults = "- {kind: unhealthy, vm: 1001, at: 0s, length: 3d}\n"
    run = simulate(capsys, tmp_path, "--days", "5", faults=faults)
    assert run.report["breaches"] == []
    assert run.code in (0, 1), run.output
    row = run.report["virtual_machines"][0]
    assert row["vetoes"].get("health_check_failed", 0) >= 1
    assert row["creates_per_day"] > 0
