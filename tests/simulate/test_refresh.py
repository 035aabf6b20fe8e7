"""The expiry refresh between slots, by the daemon's rule, in a simulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.simulate.scenarios import POLICY, simulate

Capture = pytest.CaptureFixture[str]

# Slots on the 1st and the 20th: the snapshot of the 1st lives 20 days, to the 21st, and
# with refresh_before_expiry 2d the daemon refreshes it on the 19th, before the 20th.
NEAR_THE_LIFETIME = POLICY.replace('"0 3 * * *"', '"0 3 1,20 * *"\n  refresh_before_expiry: 2d')
# The slot of 2026-02-20 falls in an outage that ends after the snapshot's expiry.
OUTAGE_ON_THE_TWENTIETH = "- {kind: outage, at: 46d, length: 30h}\n"


def test_a_snapshot_expiring_before_the_next_slot_is_refreshed_and_leaves_no_gap(
    capsys: Capture, tmp_path: Path
) -> None:
    run = simulate(
        capsys,
        tmp_path,
        "--days",
        "60",
        policy=NEAR_THE_LIFETIME,
        faults=OUTAGE_ON_THE_TWENTIETH,
    )
    assert run.code == 0, run.output
    assert run.report["breaches"] == []
    for row in run.report["virtual_machines"]:
        assert row["intervals_without_restore_point"] == []
        # Slots on 2026-01-20, 02-01 and 03-01 (02-20 in the outage), and the refresh on
        # 02-19: four creates in sixty days.
        assert row["creates_per_day"] == pytest.approx(4 / 60, abs=0.001)
        assert row["worst_age_hours"] < 19 * 24
