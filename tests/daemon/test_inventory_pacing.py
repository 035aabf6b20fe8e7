"""The inventory's pace: its share of the request budget and how often a pass starts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from snapd.daemon.inventory_pacing import inventory_interval, request_spacing, requests_per_pass


@pytest.mark.parametrize(
    ("fleet_size", "requests_per_minute"), [(1, 60), (100, 60), (1000, 6000), (5000, 600)]
)
def test_the_inventory_uses_at_most_a_tenth_of_the_request_budget(
    fleet_size: int, requests_per_minute: int
) -> None:
    interval = inventory_interval(fleet_size, requests_per_minute)
    per_minute = requests_per_pass(fleet_size) / (interval.total_seconds() / 60)
    assert per_minute <= requests_per_minute / 10
    # Within a pass the requests are spaced to the same share.
    assert 60 / request_spacing(requests_per_minute) <= requests_per_minute / 10


def test_a_small_fleet_is_looked_at_every_five_minutes_and_a_large_one_less_often() -> None:
    assert inventory_interval(2, 60) == timedelta(minutes=5)
    # 1 list + 100 snapshot reads + 9 VMs' backups, at 6 requests a minute.
    assert inventory_interval(100, 60) == timedelta(seconds=110 * 10)
