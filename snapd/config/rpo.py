"""The recovery point objective a VM's schedule promises.

The longest gap between two consecutive slots, plus the largest change of its time
zone's UTC offset (a fall-back night makes a daily gap 25 hours long), plus the jitter
that may delay the later slot, plus the ``action_timeout`` its snapshot may take: a
restore point older than that means a slot was missed or failed. Exported per VM as
``snapd_policy_rpo_seconds`` so that one alert rule serves every VM, whatever its
schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from snapd.config import VirtualMachinePolicy
from snapd.config.cron import parse_cron
from snapd.config.gaps import slot_gaps

#: The years whose offsets are compared: the rules in force around now (fixed, so that
#: the RPO does not depend on the day it is computed).
OFFSET_YEARS = range(2025, 2028)


def recovery_point_objective(policy: VirtualMachinePolicy) -> timedelta | None:
    """The oldest a restore point may be while the schedule works; None without slots."""
    longest = slot_gaps(parse_cron(policy.schedule)).longest
    if longest is None:
        return None
    shift = largest_offset_change(policy.timezone)
    return longest + shift + policy.jitter + policy.action_timeout


@lru_cache(maxsize=512)
def largest_offset_change(timezone: str) -> timedelta:
    """How far ``timezone``'s UTC offset moves over ``OFFSET_YEARS`` (its DST shift:
    one hour in New York, none in UTC), from its offset twice a month; cached per zone."""
    zone = ZoneInfo(timezone)
    offsets = {
        datetime(year, month, day, 12, tzinfo=UTC).astimezone(zone).utcoffset()
        for year in OFFSET_YEARS
        for month in range(1, 13)
        for day in (1, 15)
    }
    known = [offset for offset in offsets if offset is not None]
    return max(known) - min(known) if known else timedelta(0)
