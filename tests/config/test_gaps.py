"""Slot gaps and the ranges handed to APScheduler, checked against the obvious computation.

The walk below is the obvious definition: every day of 400 Gregorian years (after which
calendar and weekdays repeat) is tested against the schedule, and the distances between
consecutive firing days, the cycle's end joined to its start, give the gaps.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from snapd.config.cron import CronSchedule, ScheduleError, parse_cron
from snapd.config.gaps import CYCLE_DAYS, Gaps, slot_gaps
from snapd.config.schedule import compact

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never turns red by chance
    suppress_health_check=[HealthCheck.too_slow],
)


@cache
def calendar() -> list[tuple[int, int, int]]:
    """(month, day, weekday with 0 = Sunday) of every day of one 400-year cycle."""
    first = date(2000, 1, 1)
    days = [first + timedelta(days=offset) for offset in range(CYCLE_DAYS)]
    return [(day.month, day.day, day.isoweekday() % 7) for day in days]


def walked_gaps(schedule: CronSchedule) -> Gaps:
    """The gaps found by testing every day of the cycle (the old computation, unbounded)."""
    either = schedule.days_restricted and schedule.weekdays_restricted
    firing = [
        offset
        for offset, (month, day, weekday) in enumerate(calendar())
        if month in schedule.months
        and (
            (day in schedule.days or weekday in schedule.weekdays)
            if either
            else (day in schedule.days and weekday in schedule.weekdays)
        )
    ]
    if not firing:
        return Gaps(None, None)
    distances = [later - earlier for earlier, later in pairwise(firing)]
    distances.append(firing[0] + CYCLE_DAYS - firing[-1])
    times = sorted(hour * 60 + minute for hour in schedule.hours for minute in schedule.minutes)
    gaps = [later - earlier for earlier, later in pairwise(times)]
    gaps += [distance * 1440 + times[0] - times[-1] for distance in distances]
    return Gaps(timedelta(minutes=min(gaps)), timedelta(minutes=max(gaps)))


def _field(low: int, high: int, names: list[str] | None = None) -> st.SearchStrategy[str]:
    """One cron field: ``*``, a step, a value, a range, a name, or a list of those."""
    value = st.integers(low, high).map(str)
    if names:
        value = value | st.sampled_from(names)
    span = st.tuples(st.integers(low, high), st.integers(low, high)).map(
        lambda pair: f"{min(pair)}-{max(pair)}"
    )
    step = st.integers(1, high - low + 1).map(str)
    part = st.one_of(
        value,
        span,
        st.tuples(span | value, step).map("/".join),
    )
    whole = st.just("*") | step.map(lambda text: f"*/{text}")
    return whole | st.lists(part, min_size=1, max_size=4).map(",".join)


# Small sets of days and months half of the time: rare days (29 February, Friday the 13th
# in a given month) make the longest gaps, which a walk of a few years would miss.
CRON_LINES = st.tuples(
    _field(0, 59),
    _field(0, 23),
    _field(1, 31) | st.sampled_from(["29", "31", "13", "28-31", "1,15"]),
    _field(1, 12, ["jan", "feb", "dec"]) | st.sampled_from(["2", "feb", "4,6", "*/5"]),
    _field(0, 7, ["mon", "fri", "sun"]) | st.sampled_from(["5", "*/2", "1-5"]),
).map(" ".join)


@EXAMPLES
@given(CRON_LINES)
def test_gaps_match_a_walk_over_every_day_of_the_400_year_cycle(line: str) -> None:
    try:
        schedule = parse_cron(line)
    except ScheduleError:
        assume(False)
        raise

    assert slot_gaps(schedule) == walked_gaps(schedule), line


@pytest.mark.parametrize(
    ("line", "shortest", "longest"),
    [
        ("0 3 * * *", timedelta(days=1), timedelta(days=1)),
        ("*/15 * * * *", timedelta(minutes=15), timedelta(minutes=15)),
        ("0 3 * * 1-5", timedelta(days=1), timedelta(days=3)),
        ("0 3 1 */2 *", timedelta(days=59), timedelta(days=62)),
        # Leap days: every four years, except across 2100, 2200 and 2300.
        ("0 0 29 2 *", timedelta(days=4 * 365 + 1), timedelta(days=8 * 365 + 1)),
        # Two slots on a rare day: the day's own gap is not the longest one.
        ("0,30 0 29 2 *", timedelta(minutes=30), timedelta(days=8 * 365 + 1, minutes=-30)),
        # Both day fields restricted: either one fires (the classic cron rule).
        ("0 3 13 * 5", timedelta(days=1), timedelta(days=7)),
        # One of them written with "*": both must match (Friday the 13th).
        ("0 3 13 * */5", timedelta(days=28), timedelta(days=14 * 30)),
    ],
)
def test_gaps_of_known_schedules(line: str, shortest: timedelta, longest: timedelta) -> None:
    schedule = parse_cron(line)

    assert slot_gaps(schedule) == walked_gaps(schedule)
    assert slot_gaps(schedule).shortest == shortest
    assert slot_gaps(schedule).longest <= longest


@EXAMPLES
@given(st.frozensets(st.integers(0, 59), min_size=1))
def test_the_values_given_to_apscheduler_as_ranges_are_the_same_values(
    minutes: frozenset[int],
) -> None:
    text = compact(minutes)

    assert len(text.split(",")) <= len(minutes)
    assert parse_cron(f"{text} * * * *").minutes == minutes
