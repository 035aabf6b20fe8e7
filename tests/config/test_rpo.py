"""The RPO counts the time zone's largest UTC-offset change (a fall-back night)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from snapd.config.rpo import largest_offset_change, recovery_point_objective
from tests.conftest import make_policy


@pytest.mark.parametrize(
    ("timezone", "shift"),
    [
        ("UTC", timedelta(0)),
        ("Asia/Tokyo", timedelta(0)),
        ("America/New_York", timedelta(hours=1)),
        ("Europe/Vilnius", timedelta(hours=1)),
        # Lord Howe Island moves its clocks by half an hour.
        ("Australia/Lord_Howe", timedelta(minutes=30)),
    ],
)
def test_the_largest_offset_change_is_the_zones_dst_shift(timezone: str, shift: timedelta) -> None:
    assert largest_offset_change(timezone) == shift


def test_a_daily_schedule_in_new_york_gets_an_rpo_one_hour_longer_than_in_utc() -> None:
    in_utc = make_policy(1, schedule="30 1 * * *", timezone="UTC")
    in_new_york = make_policy(1, schedule="30 1 * * *", timezone="America/New_York")
    assert recovery_point_objective(in_utc) == timedelta(hours=24, minutes=30)
    assert recovery_point_objective(in_new_york) == timedelta(hours=25, minutes=30)
