"""The first cron minute at which the fleet's schedules would exceed the rate limit.

Counted from the schedules alone (un-jittered slots, each in its time zone): each
snapshot costs about ``CALLS_PER_SNAPSHOT`` calls (look, create, poll, read back) in its
slot's minute. VMs sharing a schedule and a time zone are counted together, so a large
fleet on a few schedules costs a few walks of the calendar.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from snapd.config import VirtualMachinePolicy
from snapd.config.schedule import build_trigger, iter_slots

#: The calls one snapshot takes in its slot's minute, about.
CALLS_PER_SNAPSHOT = 4


def first_minute_over_limit(
    policies: Iterable[VirtualMachinePolicy],
    start: datetime,
    end: datetime,
    requests_per_minute: int,
) -> datetime | None:
    """The earliest minute in [start, end) whose expected calls exceed the limit, or None."""
    fleets = Counter((policy.schedule, policy.timezone) for policy in policies)
    per_minute: Counter[datetime] = Counter()
    for (schedule, timezone), count in sorted(fleets.items()):
        trigger = build_trigger(schedule, timezone)
        for slot in iter_slots(trigger, start - timedelta(microseconds=1)):
            if slot >= end:
                break
            per_minute[slot.replace(second=0, microsecond=0)] += count * CALLS_PER_SNAPSHOT
    over = [minute for minute, calls in per_minute.items() if calls > requests_per_minute]
    return min(over, default=None)
