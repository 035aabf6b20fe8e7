"""APScheduler triggers for standard cron schedules, and next-fire arithmetic.

APScheduler's own ``CronTrigger.from_crontab`` counts day-of-week 0 as Monday and combines
the day fields with AND, so it is never used: ``snapd.config.cron`` parses every field into explicit
values, handed to APScheduler here in its own terms (weekday names, never numbers).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from snapd.config.cron import WEEKDAY_NAMES, CronSchedule, load_timezone, parse_cron


def compact(values: frozenset[int]) -> str:
    """The values as cron ranges: ``0-59`` rather than sixty numbers, ``5-55/10`` for a step.

    APScheduler tests each comma-separated part in turn for every next fire time, so
    that a list of sixty minutes would cost sixty times one range.
    """
    ordered = sorted(values)
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end, step = start, 1
        if start + 2 < len(ordered):
            step = ordered[start + 1] - ordered[start]
            while end + 1 < len(ordered) and ordered[end + 1] - ordered[end] == step:
                end += 1
        if end - start >= 2:
            suffix = "" if step == 1 else f"/{step}"
            parts.append(f"{ordered[start]}-{ordered[end]}{suffix}")
        else:
            end = start
            parts.append(str(ordered[start]))
        start = end + 1
    return ",".join(parts)


def _cron_trigger(
    schedule: CronSchedule, timezone: tzinfo, *, days: bool, weekdays: bool
) -> CronTrigger:
    arguments: dict[str, Any] = {
        "minute": compact(schedule.minutes),
        "hour": compact(schedule.hours),
        "month": compact(schedule.months),
        "timezone": timezone,
    }
    if days:
        arguments["day"] = compact(schedule.days)
    if weekdays:
        # APScheduler's names are unambiguous, its numbers are not (0 = Monday there).
        arguments["day_of_week"] = ",".join(WEEKDAY_NAMES[day] for day in sorted(schedule.weekdays))
    return CronTrigger(**arguments)


class StandardCronTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger with standard cron meaning and once-only DST handling.

    A wall-clock slot inside a daylight-saving gap fires once, at the instant its wall
    time has with the offset before the jump: one hour later on the new clock (02:30 on
    the night Berlin skips 02:00-03:00 fires at 03:30 CEST), 24 h after the day before's
    slot, so no slot of the skipped hour is lost or merged with another. A slot inside a
    repeated hour fires once (at its first occurrence): a snapshot is not taken twice
    because the clocks went back.
    """

    def __init__(self, schedule: CronSchedule, timezone: tzinfo, jitter_seconds: int = 0) -> None:
        self.schedule = schedule
        self.timezone = timezone
        self.jitter = jitter_seconds or None
        inner: BaseTrigger
        if schedule.days_restricted and schedule.weekdays_restricted:
            inner = OrTrigger(
                [
                    _cron_trigger(schedule, timezone, days=True, weekdays=False),
                    _cron_trigger(schedule, timezone, days=False, weekdays=True),
                ]
            )
        else:
            # Cron ANDs the day fields when either one starts with "*" ("*/2" included).
            inner = _cron_trigger(schedule, timezone, days=True, weekdays=True)
        self._inner = inner

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """Return the next slot after ``now`` (jitter applied), or None if there is none."""
        slot = self.next_slot(previous_fire_time, now)
        if slot is None:
            return None
        if not self.jitter:
            return slot
        # Jitter only delays: the slot itself stays the identity of the run.
        return slot + timedelta(seconds=random.uniform(0, self.jitter))

    def next_slot(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """Return the next un-jittered slot at or after ``now``, in UTC."""
        candidate: datetime | None = self._inner.get_next_fire_time(previous_fire_time, now)
        while candidate is not None:
            utc_candidate = candidate.astimezone(ZoneInfo("UTC"))
            previous_utc = (
                previous_fire_time.astimezone(ZoneInfo("UTC")) if previous_fire_time else None
            )
            if (
                previous_utc is None or utc_candidate > previous_utc
            ) and not _is_repeated_wall_time(candidate):
                return utc_candidate
            later = max(utc_candidate, previous_utc or utc_candidate) + timedelta(microseconds=1)
            candidate = self._inner.get_next_fire_time(candidate, later)
        return None

    def __str__(self) -> str:
        return f"cron[{self.schedule.expression}] in {self.timezone}"

    def __repr__(self) -> str:
        return f"StandardCronTrigger({self.schedule.expression!r}, {self.timezone!s})"


def _is_repeated_wall_time(moment: datetime) -> bool:
    """True for the second occurrence of a wall time that the clocks went back over."""
    local = moment.replace(tzinfo=None)
    zone = moment.tzinfo
    first = local.replace(fold=0, tzinfo=zone)
    second = local.replace(fold=1, tzinfo=zone)
    if first.utcoffset() == second.utcoffset():
        return False
    # Only real (round-trippable) instants count: a gap produces differing offsets too.
    utc = ZoneInfo("UTC")
    round_trip_first = first.astimezone(utc).astimezone(zone).replace(tzinfo=None)
    if round_trip_first != local:
        return False  # a DST gap, not a repeated hour
    return moment.astimezone(utc) == second.astimezone(utc)


def build_trigger(expression: str, timezone: str, jitter_seconds: int = 0) -> StandardCronTrigger:
    """Build the trigger for a policy's ``schedule`` and ``timezone``; raises ``ScheduleError``."""
    return StandardCronTrigger(parse_cron(expression), load_timezone(timezone), jitter_seconds)


def iter_slots(trigger: StandardCronTrigger, after: datetime) -> Iterator[datetime]:
    """Yield the trigger's slots strictly after ``after`` (aware), in UTC, without jitter."""
    previous: datetime | None = None
    now = after + timedelta(microseconds=1)
    while True:
        slot = trigger.next_slot(previous, now)
        if slot is None:
            return
        yield slot
        previous, now = slot, slot + timedelta(microseconds=1)


def next_slots(trigger: StandardCronTrigger, after: datetime, count: int) -> list[datetime]:
    """Return the next ``count`` slots strictly after ``after``."""
    slots: list[datetime] = []
    for slot in iter_slots(trigger, after):
        slots.append(slot)
        if len(slots) >= count:
            break
    return slots


def previous_slot(
    trigger: StandardCronTrigger, before: datetime, window: timedelta
) -> datetime | None:
    """Return the latest slot in ``(before - window, before]``, or None.

    Used for catch-up and to name the slot a late job belongs to. The search looks back
    over a doubling span (a minute, two, four...) so that a once-a-minute schedule does not
    walk a day's worth of slots.
    """
    earliest = before - window
    span = timedelta(minutes=1)
    while True:
        start = max(before - span, earliest)
        latest: datetime | None = None
        for slot in iter_slots(trigger, start):
            if slot > before:
                break
            latest = slot
        if latest is not None or start <= earliest:
            return latest
        span *= 2
