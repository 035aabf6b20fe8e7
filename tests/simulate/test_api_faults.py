"""The API's own faults in a simulation: storms, failed and slow actions, clock skew."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.simulate.scenarios import simulate

Capture = pytest.CaptureFixture[str]


def test_a_storm_of_429_on_every_call_leaves_a_gap_named_storm(
    capsys: Capture, tmp_path: Path
) -> None:
    faults = "- {kind: storm, at: 1d, length: 30h, status: 429, share: 1}\n"
    run = simulate(capsys, tmp_path, "--days", "6", faults=faults)
    assert run.code == 1
    for vm in (1001, 1002):
        assert run.gaps(vm) == [
            {"from": "2026-01-06T03:31:00Z", "to": "2026-01-08T03:01:00Z", "why": "storm"}
        ]
    assert run.report["breaches"] == []


def test_a_storm_ending_inside_an_outage_leaves_the_outage_in_force(
    capsys: Capture, tmp_path: Path
) -> None:
    faults = (
        "- {kind: outage, at: 1d, length: 30h}\n"
        "- {kind: storm, at: 1d1h, length: 1h, status: 500, share: 0.5}\n"
    )
    run = simulate(capsys, tmp_path, "--days", "6", faults=faults)
    assert run.code == 1
    # The slot at 03:00 on the second day falls in the outage, after the storm ended.
    assert run.gaps(1002)[0]["to"] == "2026-01-08T03:01:00Z"


def test_snapshot_actions_that_end_in_error_leave_a_gap_though_creates_were_sent(
    capsys: Capture, tmp_path: Path
) -> None:
    faults = "- {kind: failed_actions, at: 1d, length: 30h}\n"
    run = simulate(capsys, tmp_path, "--days", "6", faults=faults)
    assert run.code == 1
    for row in run.report["virtual_machines"]:
        assert row["creates_per_day"] == 1.0
        assert [gap["why"] for gap in row["intervals_without_restore_point"]] == ["failed actions"]


def test_slow_actions_are_waited_for_and_keep_every_vm_within_its_rpo(
    capsys: Capture, tmp_path: Path
) -> None:
    usual = simulate(capsys, tmp_path, "--days", "6")
    faults = "- {kind: slow_actions, at: 1d, length: 3d, seconds: 1200}\n"
    slow = simulate(capsys, tmp_path, "--days", "6", faults=faults)
    assert slow.code == 0
    assert slow.report["breaches"] == []
    # Twenty minutes of action instead of one: the poller asks many more times.
    assert slow.report["api_calls_per_day_peak"] > usual.report["api_calls_per_day_peak"]
    for row in slow.report["virtual_machines"]:
        assert row["creates_per_day"] == 1.0


@pytest.mark.parametrize("seconds", [-600, 900])
def test_a_server_clock_running_late_or_early_misleads_no_guard(
    capsys: Capture, tmp_path: Path, seconds: int
) -> None:
    faults = f"- {{kind: clock_skew, at: 0s, length: 6d, seconds: {seconds}}}\n"
    run = simulate(capsys, tmp_path, "--days", "6", faults=faults)
    assert run.code == 0
    assert run.report["breaches"] == []
    for row in run.report["virtual_machines"]:
        assert row["creates_per_day"] == 1.0
        assert row["intervals_without_restore_point"] == []
