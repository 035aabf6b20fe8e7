"""Standard cron meanings, time zones and daylight-saving transitions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from snapd.cli import main
from snapd.config.cron import ScheduleError, parse_cron
from snapd.config.gaps import slot_gaps
from snapd.config.schedule import build_trigger, next_slots, previous_slot

START = datetime(2025, 1, 1, tzinfo=UTC)


def local_slots(expression: str, timezone: str, after: datetime, count: int) -> list[str]:
    trigger = build_trigger(expression, timezone)
    zone = ZoneInfo(timezone)
    return [slot.astimezone(zone).isoformat() for slot in next_slots(trigger, after, count)]


@pytest.mark.parametrize("expression", ["0 3 * * 0", "0 3 * * 7", "0 3 * * sun", "0 3 * * SUN"])
def test_day_of_week_zero_seven_and_sun_all_mean_sunday(expression: str) -> None:
    slots = next_slots(build_trigger(expression, "UTC"), START, 8)
    assert all(slot.strftime("%A %H:%M") == "Sunday 03:00" for slot in slots)
    assert slots[0] == datetime(2025, 1, 5, 3, tzinfo=UTC)


def test_weekday_ranges_use_standard_numbering() -> None:
    slots = next_slots(build_trigger("0 9 * * 1-5", "UTC"), START, 10)
    assert {slot.strftime("%a") for slot in slots} == {"Mon", "Tue", "Wed", "Thu", "Fri"}


def test_a_step_over_all_weekdays_starts_on_sunday() -> None:
    slots = next_slots(build_trigger("0 0 * * */2", "UTC"), START, 8)
    assert {slot.strftime("%a") for slot in slots} == {"Sun", "Tue", "Thu", "Sat"}


def test_both_day_fields_restricted_fire_on_either_day() -> None:
    slots = next_slots(build_trigger("0 0 13 * fri", "UTC"), START, 4)
    assert [slot.day for slot in slots] == [3, 10, 13, 17]


@pytest.mark.parametrize(
    ("macro", "first"),
    [
        ("@hourly", datetime(2025, 1, 1, 1, tzinfo=UTC)),
        ("@daily", datetime(2025, 1, 2, tzinfo=UTC)),
        ("@weekly", datetime(2025, 1, 5, tzinfo=UTC)),
        ("@monthly", datetime(2025, 2, 1, tzinfo=UTC)),
    ],
)
def test_macros_mean_what_cron_means(macro: str, first: datetime) -> None:
    assert next_slots(build_trigger(macro, "UTC"), START, 1) == [first]


def test_names_lists_ranges_and_steps_combine() -> None:
    schedule = parse_cron("5/20 1,13 * jan-mar mon-wed,fri")
    assert schedule.minutes == {5, 25, 45}
    assert schedule.hours == {1, 13}
    assert schedule.months == {1, 2, 3}
    assert schedule.weekdays == {1, 2, 3, 5}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 3 * * *", "minute: 61 is out of range 0-59"),
        ("0 3 * *", "expected 5 fields"),
        ("0 24 * * *", "hour: 24 is out of range 0-23"),
        ("0 3 * * 8", "day-of-week: 8 is out of range 0-7"),
        ("0 3 * foo *", "month: 'foo' is not a number or name"),
        ("0 3 5-1 * *", "runs backwards"),
        ("*/0 3 * * *", "step 0"),
        ("@sometimes", "unknown macro"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_bad_cron_lines_are_rejected_with_the_field_named(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_cron(expression)


def test_a_slot_in_the_berlin_spring_gap_runs_once() -> None:
    slots = local_slots("30 2 * * *", "Europe/Berlin", datetime(2025, 3, 29, 12, tzinfo=UTC), 2)
    # 02:30 does not exist on 30 March: the slot runs once, at 02:30 winter time (03:30).
    assert slots == ["2025-03-30T03:30:00+02:00", "2025-03-31T02:30:00+02:00"]


def test_a_vilnius_slot_in_the_skipped_hour_runs_once_an_hour_later_on_the_clock() -> None:
    # Vilnius skips 03:00-04:00 (EET to EEST) on 29 March 2026; 02:30 is not in the gap.
    after = datetime(2026, 3, 28, 12, tzinfo=UTC)
    skipped = local_slots("30 3 * * *", "Europe/Vilnius", after, 2)
    assert skipped == ["2026-03-29T04:30:00+03:00", "2026-03-30T03:30:00+03:00"]
    unaffected = local_slots("30 2 * * *", "Europe/Vilnius", after, 2)
    assert unaffected == ["2026-03-29T02:30:00+02:00", "2026-03-30T02:30:00+03:00"]


def test_a_slot_in_the_berlin_autumn_repeated_hour_runs_once() -> None:
    slots = local_slots("30 2 * * *", "Europe/Berlin", datetime(2025, 10, 25, 12, tzinfo=UTC), 2)
    assert slots == ["2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"]


def test_a_slot_in_the_new_york_spring_gap_runs_once() -> None:
    slots = local_slots("30 2 * * *", "America/New_York", datetime(2025, 3, 8, 12, tzinfo=UTC), 2)
    assert slots == ["2025-03-09T03:30:00-04:00", "2025-03-10T02:30:00-04:00"]


def test_a_slot_in_the_new_york_autumn_repeated_hour_runs_once() -> None:
    slots = local_slots("30 1 * * *", "America/New_York", datetime(2025, 11, 1, 12, tzinfo=UTC), 2)
    assert slots == ["2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"]


def test_an_hourly_schedule_never_repeats_a_wall_time_when_clocks_go_back() -> None:
    slots = local_slots("0 * * * *", "Europe/Berlin", datetime(2025, 10, 25, 22, tzinfo=UTC), 5)
    assert slots == [
        "2025-10-26T01:00:00+02:00",
        "2025-10-26T02:00:00+02:00",
        "2025-10-26T03:00:00+01:00",
        "2025-10-26T04:00:00+01:00",
        "2025-10-26T05:00:00+01:00",
    ]


def test_slots_are_strictly_increasing_across_a_spring_gap() -> None:
    trigger = build_trigger("*/30 * * * *", "America/New_York")
    slots = next_slots(trigger, datetime(2025, 3, 9, 5, tzinfo=UTC), 12)
    assert all(earlier < later for earlier, later in pairwise(slots))


def test_the_previous_slot_is_found_within_the_catch_up_window() -> None:
    trigger = build_trigger("0 3 * * *", "UTC")
    now = datetime(2025, 1, 10, 12, tzinfo=UTC)
    assert previous_slot(trigger, now, timedelta(hours=24)) == datetime(2025, 1, 10, 3, tzinfo=UTC)
    assert previous_slot(trigger, now, timedelta(hours=6)) is None


def test_jitter_only_delays_the_fire_time() -> None:
    trigger = build_trigger("0 3 * * *", "UTC", jitter_seconds=600)
    slot = datetime(2025, 1, 1, 3, tzinfo=UTC)
    for _ in range(50):
        fire = trigger.get_next_fire_time(None, START)
        assert fire is not None
        assert slot <= fire <= slot + timedelta(seconds=600)


def test_gaps_are_measured_for_daily_weekly_and_monthly_patterns() -> None:
    assert slot_gaps(parse_cron("0 3 * * *")).longest == timedelta(days=1)
    assert slot_gaps(parse_cron("0 3 * * 0")).shortest == timedelta(days=7)
    assert slot_gaps(parse_cron("*/5 * 1 * *")).longest == timedelta(days=30, minutes=5)


DST_EXAMPLE = re.compile(
    r"`(?P<expression>[^`]+)` in `(?P<zone>[^`]+)` runs at (?P<local>\d\d:\d\d) \w+ "
    r"\((?P<utc>\d\d:\d\d) UTC\) on (?P<day>\d{4}-\d\d-\d\d)"
)


def test_the_readme_says_when_a_slot_in_a_skipped_hour_runs_as_the_scheduler_and_plan_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = DST_EXAMPLE.search(readme)
    assert example is not None, "the README's timezone row gives a DST gap example"
    expression, zone, day = example["expression"], example["zone"], example["day"]
    midnight = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone))
    # The example's hour really is skipped that night: its wall time does not exist.
    hour, minute = (int(part) for part in expression.split()[1::-1])
    wall = midnight.replace(hour=hour, minute=minute)
    assert wall.astimezone(UTC).astimezone(ZoneInfo(zone)).hour != hour

    after = midnight.astimezone(UTC)
    (slot,) = next_slots(build_trigger(expression, zone), after, 1)
    assert slot.strftime("%H:%M") == example["utc"]
    assert slot.astimezone(ZoneInfo(zone)).strftime("%H:%M") == example["local"]
    assert slot - next_slots(build_trigger(expression, zone), after - timedelta(days=1), 1)[
        0
    ] == timedelta(days=1)

    policy = tmp_path / "config.yaml"
    policy.write_text(
        f'vms: [{{id: 1, schedule: "{expression}", timezone: {zone}}}]\nstate_dir: .\n'
    )
    after_text = after.strftime("%Y-%m-%dT%H:%M:%S")
    assert main(["plan", "-c", str(policy), "--count", "1", "--after", after_text]) == 0
    planned = capsys.readouterr().out
    local = slot.astimezone(ZoneInfo(zone)).isoformat()
    assert f"{slot.strftime('%Y-%m-%dT%H:%M:%SZ')}  {local}" in planned
