"""Standard 5-field cron expressions, parsed into explicit sets of values.

The policy file speaks standard cron (minute hour day-of-month month day-of-week) with the
meanings every crontab reader knows: day-of-week 0 and 7 are Sunday, names like ``mon`` and
``jan`` work, ranges, steps and lists combine, and when both day fields are restricted a day
matching either one fires (the classic cron rule). Macros ``@hourly``, ``@daily``,
``@weekly``, ``@monthly`` and ``@yearly`` are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
# Standard cron numbering: 0 = Sunday.
WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


class ScheduleError(ValueError):
    """A cron expression or time zone that cannot be used; the message is one line."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_offset: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, tuple(MONTH_NAMES), 1),
    _Field("day-of-week", 0, 7, tuple(WEEKDAY_NAMES), 0),
)
_PART = re.compile(r"^(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]{1,4}))?$")


@dataclass(frozen=True)
class CronSchedule:
    """A parsed standard cron expression.

    ``minutes``, ``hours``, ``days``, ``months`` and ``weekdays`` hold the allowed values
    (weekdays 0-6 with 0 = Sunday). ``days_restricted`` and ``weekdays_restricted`` tell
    whether the day fields were given as something other than ``*`` — the classic cron
    rule ORs the two day fields only when both are restricted.
    """

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool


def _shown(text: str) -> str:
    """A part of a cron line cut short enough for a one-line error."""
    return text if len(text) <= 30 else text[:27] + "..."


def _parse_value(text: str, field: _Field) -> int:
    # isdigit() alone accepts "²", which int() refuses; no field needs more than 2 digits,
    # so a longer number is out of range without converting it.
    if text.isascii() and text.isdigit():
        if len(text.lstrip("0")) > 4:
            raise ScheduleError(
                f"{field.name}: {text[:20]!r} is out of range {field.low}-{field.high}"
            )
        value = int(text)
    elif text in field.names:
        value = field.names.index(text) + field.name_offset
    else:
        raise ScheduleError(f"{field.name}: {_shown(text)!r} is not a number or name")
    if not field.low <= value <= field.high:
        raise ScheduleError(f"{field.name}: {value} is out of range {field.low}-{field.high}")
    return value


def _parse_field(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        match = _PART.match(part)
        if match is None:
            raise ScheduleError(f"{field.name}: cannot read {_shown(part)!r}")
        range_text, step_text = match.group("range"), match.group("step")
        if range_text == "*":
            low, high = field.low, field.high
        elif "-" in range_text:
            first, last = range_text.split("-", 1)
            low, high = _parse_value(first, field), _parse_value(last, field)
            if low > high:
                raise ScheduleError(f"{field.name}: range {_shown(part)!r} runs backwards")
        else:
            low = _parse_value(range_text, field)
            # "5/15" means "from 5 to the end, every 15", as in the classic cron.
            high = field.high if step_text else low
        step = int(step_text) if step_text else 1
        if step == 0:
            raise ScheduleError(f"{field.name}: step 0 in {_shown(part)!r}")
        values.update(range(low, high + 1, step))
    return frozenset(values)


@lru_cache(maxsize=4096)
def parse_cron(expression: str) -> CronSchedule:
    """Parse a standard 5-field cron expression or a macro such as ``@daily``.

    Raises ``ScheduleError`` with a one-line message naming the offending field. Cached:
    loading a policy reads each VM's schedule more than once.
    """
    text = expression.strip()
    expanded = MACROS.get(text.lower(), text)
    if expanded.startswith("@"):
        raise ScheduleError(f"unknown macro {_shown(text)!r} (known: {', '.join(MACROS)})")
    parts = expanded.split()
    if len(parts) != 5:
        raise ScheduleError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    minutes, hours, days, months, weekdays = (
        _parse_field(part, field) for part, field in zip(parts, _FIELDS, strict=True)
    )
    weekdays = frozenset(day % 7 for day in weekdays)  # 7 is Sunday too
    schedule = CronSchedule(
        expression=text,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=weekdays,
        days_restricted=not parts[2].startswith("*"),
        weekdays_restricted=not parts[4].startswith("*"),
    )
    if not _any_day_exists(schedule):
        raise ScheduleError(
            "the day-of-month and month fields never meet (the schedule never fires)"
        )
    return schedule


def _any_day_exists(schedule: CronSchedule) -> bool:
    if schedule.weekdays_restricted and schedule.days_restricted:
        return True  # OR rule: the weekday field alone fires
    if schedule.weekdays_restricted and not schedule.days_restricted:
        return True
    longest = {
        1: 31,
        2: 29,
        3: 31,
        4: 30,
        5: 31,
        6: 30,
        7: 31,
        8: 31,
        9: 30,
        10: 31,
        11: 30,
        12: 31,
    }
    return any(day <= longest[month] for month in schedule.months for day in schedule.days)


def load_timezone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name`` or raise ``ScheduleError``."""
    try:
        return ZoneInfo(name)
    # OSError: a name that is a folder of the zone database ("America"), or too long for
    # a file name; ValueError: a name with ".." or a NUL byte.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise ScheduleError(
            f"unknown time zone {shown!r} (expected an IANA name like Europe/Berlin)"
        ) from None
