"""The first cron minute at which the fleet's schedules would exceed the rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snapd.cli.dispatch import main
from snapd.config import load_config
from snapd.simulate.rate import first_minute_over_limit
from tests.simulate.scenarios import POLICY, simulate, write

Capture = pytest.CaptureFixture[str]
START = datetime(2026, 1, 5, tzinfo=UTC)
# Two VMs at 03:00 every day (8 calls), a third at 03:00 on Sundays only (4 more).
FLEET = POLICY + '  - id: 1003\n    name: mail\n    schedule: "0 3 * * 0"\n'


def _limited(requests_per_minute: int) -> str:
    return FLEET.replace(
        "base_url: https://developers.hostinger.com",
        f"base_url: https://developers.hostinger.com\n  requests_per_minute: {requests_per_minute}",
    )


def test_the_first_minute_over_the_limit_is_the_first_sunday_slot_shared_by_three_vms(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, "policy.yaml", _limited(10)))
    moment = first_minute_over_limit(config.vms, START, START + timedelta(days=14), 10)
    # 2026-01-05 is a Monday: the first Sunday is 2026-01-11.
    assert moment == datetime(2026, 1, 11, 3, 0, tzinfo=UTC)


def test_a_fleet_within_the_limit_never_exceeds_it(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "policy.yaml", _limited(12)))
    assert first_minute_over_limit(config.vms, START, START + timedelta(days=14), 12) is None


def test_the_report_names_the_first_minute_over_the_limit_in_json_and_in_the_table(
    capsys: Capture, tmp_path: Path
) -> None:
    run = simulate(capsys, tmp_path, "--days", "3", policy=_limited(7))
    assert run.report["first_minute_over_rate_limit"] == "2026-01-05T03:00:00Z"
    policy = write(tmp_path, "policy.yaml", _limited(60))
    main(["simulate", "-c", str(policy), "--days", "3"])
    assert "first cron minute over the limit: never" in capsys.readouterr().out
