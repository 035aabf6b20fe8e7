"""The shortest and longest time between two consecutive slots of a cron schedule.

The gaps decide a VM's default ``min_age``, whether its snapshot would expire between two
slots, and its recovery point objective, so they are computed for every VM each time a
policy is loaded. They are exact and cost no more for a once-a-minute schedule than for a
yearly one, and none for a day pattern already measured:

- The slots of one day are the same every day (wall-clock time; daylight-saving shifts of
  an hour at most are ignored), so a gap is either between two times of a day, or from a
  firing day's last time to the next firing day's first time.
- Which days fire depends on the month, the day of the month and the weekday. The
  Gregorian calendar repeats after 400 years (146 097 days, a whole number of weeks), so
  one cycle holds every distance between firing days the schedule will ever have. A
  year's firing days depend only on its type (leap or not, weekday of 1 January): each of
  the 14 types is measured once, as a bit mask of its days. The distances across New Year
  join the pairs of types that follow one another in the cycle; only when some years have
  no firing day (29 February, Friday the 13th in one month) is the cycle walked, a year at
  a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise

from snapd.config.cron import CronSchedule

# 1 January 2000 starts a 400-year cycle; any year would do, the cycle is the same.
_CYCLE_START = 2000
_CYCLE_YEARS = 400
CYCLE_DAYS = 146_097
_MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class Gaps:
    """The shortest and longest time between two consecutive slots (None: fewer than 2 slots)."""

    shortest: timedelta | None
    longest: timedelta | None


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# A year type: (leap, weekday of 1 January with 0 = Sunday as in cron).
_YearType = tuple[bool, int]
_CYCLE: tuple[_YearType, ...] = tuple(
    (_is_leap(year), date(year, 1, 1).isoweekday() % 7)
    for year in range(_CYCLE_START, _CYCLE_START + _CYCLE_YEARS)
)
# Each pair of types that follow one another in the cycle (its last year is followed by
# its first), with the length of the earlier year.
_SUCCESSIONS: frozenset[tuple[_YearType, _YearType, int]] = frozenset(
    (earlier, later, 366 if earlier[0] else 365)
    for earlier, later in zip(_CYCLE, _CYCLE[1:] + _CYCLE[:1], strict=True)
)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Bit i set for i = 0, 7, 14...: multiplying a week's 7 bits by it fills a whole year.
_WEEKS = sum(1 << (7 * week) for week in range(53))

# The firing days of one year type: first and last day of the year (0-based), and the
# shortest and longest distance in days between two consecutive ones (None: one day).
_Year = tuple[int, int, int | None, int | None]


def _measure_year(mask: int) -> _Year | None:
    if mask == 0:
        return None
    first = (mask & -mask).bit_length() - 1
    last = mask.bit_length() - 1
    # The runs of zeros between two set bits are the days without a slot in between; a
    # set of them has a few distinct runs, whatever the number of firing days.
    runs = {len(run) + 1 for run in set(bin(mask)[2:].strip("0").split("1")[1:-1])}
    return first, last, min(runs, default=None), max(runs, default=None)


def _year_masks(
    months: frozenset[int], days: frozenset[int], weekdays: frozenset[int], either: bool
) -> dict[_YearType, int]:
    """The firing days of each year type, bit ``i`` for day ``i`` of the year (0-based)."""
    day_bits = sum(1 << (day - 1) for day in days)
    # Per leap or common year: the days of the chosen months, and those of them whose
    # day of the month is chosen.
    calendar: dict[bool, tuple[int, int]] = {}
    for leap in (False, True):
        in_months = on_days = offset = 0
        for month, length in enumerate(_MONTH_DAYS, 1):
            length += 1 if leap and month == 2 else 0
            if month in months:
                whole_month = (1 << length) - 1
                in_months |= whole_month << offset
                on_days |= (day_bits & whole_month) << offset
            offset += length
        calendar[leap] = (in_months, on_days)
    # The days of a year starting on weekday ``first`` that fall on a chosen weekday.
    weeks = [
        sum(1 << day for day in range(7) if (first + day) % 7 in weekdays) * _WEEKS
        for first in range(7)
    ]
    masks: dict[_YearType, int] = {}
    for leap, first_weekday in set(_CYCLE):
        in_months, on_days = calendar[leap]
        on_weekdays = weeks[first_weekday] & in_months
        masks[leap, first_weekday] = (on_days | on_weekdays) if either else (on_days & on_weekdays)
    return masks


@lru_cache(maxsize=4096)
def day_gaps(
    months: frozenset[int], days: frozenset[int], weekdays: frozenset[int], either: bool
) -> tuple[int, int] | None:
    """The shortest and longest distance in days between two consecutive firing days.

    A day fires when its month is in ``months`` and its day of the month is in ``days``
    and (``either``: or) its weekday is in ``weekdays``. None when no day ever fires.
    """
    masks = _year_masks(months, days, weekdays, either)
    # Without a weekday rule, the types of a year length share their firing days.
    measured = {mask: _measure_year(mask) for mask in set(masks.values())}
    years = {year_type: measured[mask] for year_type, mask in masks.items()}
    distances: set[int] = set()
    for year in years.values():
        if year is not None and year[2] is not None and year[3] is not None:
            distances.update((year[2], year[3]))
    firing = {year_type: year for year_type, year in years.items() if year is not None}
    if len(firing) == len(years):
        # Every year fires: a distance across New Year joins two successive years.
        for earlier, later, length in _SUCCESSIONS:
            distances.add(length + firing[later][0] - firing[earlier][1])
        return min(distances), max(distances)
    return _walk_cycle(years, distances)


def _walk_cycle(
    years: dict[_YearType, _Year | None], distances: set[int]
) -> tuple[int, int] | None:
    """Add the distances across years without firing days by walking the cycle."""
    first_day: int | None = None
    last_day: int | None = None
    year_start = 0
    for year_type in _CYCLE:
        year = years[year_type]
        if year is not None:
            if last_day is None:
                first_day = year_start + year[0]
            else:
                distances.add(year_start + year[0] - last_day)
            last_day = year_start + year[1]
        year_start += 366 if year_type[0] else 365
    if first_day is None or last_day is None:
        return None
    # The cycle repeats: its last firing day is followed by the next cycle's first.
    distances.add(first_day + CYCLE_DAYS - last_day)
    return min(distances), max(distances)


def slot_gaps(schedule: CronSchedule) -> Gaps:
    """The shortest and longest wall-clock time between two consecutive slots."""
    times = sorted(hour * 60 + minute for hour in schedule.hours for minute in schedule.minutes)
    within_day = [later - earlier for earlier, later in pairwise(times)]
    either = schedule.days_restricted and schedule.weekdays_restricted
    distances = day_gaps(schedule.months, schedule.days, schedule.weekdays, either)
    if distances is None or not times:
        return Gaps(None, None)
    overnight = times[0] - times[-1]
    shortest = min([*within_day, distances[0] * _MINUTES_PER_DAY + overnight])
    longest = max([*within_day, distances[1] * _MINUTES_PER_DAY + overnight])
    return Gaps(timedelta(minutes=shortest), timedelta(minutes=longest))
