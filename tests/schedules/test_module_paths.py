"""Prefect 1's schedule module paths resolve with every name Prefect 1 exported there, so
``from prefect.schedules.clocks import CronClock`` works after changing the import."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest

import tideflow.schedules
from tideflow.schedules import Clock, Schedule

PREFECT_1_NAMES = {
    "tideflow.schedules": [
        "Schedule",
        "IntervalSchedule",
        "CronSchedule",
        "RRuleSchedule",
        "clocks",
        "filters",
        "adjustments",
    ],
    "tideflow.schedules.schedules": [
        "Schedule",
        "IntervalSchedule",
        "CronSchedule",
        "RRuleSchedule",
    ],
    "tideflow.schedules.clocks": [
        "Clock",
        "ClockEvent",
        "IntervalClock",
        "CronClock",
        "DatesClock",
        "RRuleClock",
    ],
    "tideflow.schedules.filters": [
        "on_datetime",
        "on_date",
        "at_time",
        "between_datetimes",
        "between_dates",
        "between_times",
        "is_weekday",
        "is_weekend",
        "is_month_start",
        "is_month_end",
        "is_day_of_week",
    ],
    "tideflow.schedules.adjustments": ["add", "next_weekday"],
}


@pytest.mark.parametrize("module", sorted(PREFECT_1_NAMES))
def test_each_prefect_1_name_is_exported_at_its_path(module: str) -> None:
    found = importlib.import_module(module)
    missing = [name for name in PREFECT_1_NAMES[module] if not hasattr(found, name)]
    assert missing == []
    exported = set(getattr(found, "__all__", PREFECT_1_NAMES[module]))
    assert set(PREFECT_1_NAMES[module]) - {"clocks", "filters", "adjustments"} <= exported


def test_the_paths_name_the_same_objects() -> None:
    from tideflow.schedules import clocks, schedules

    assert schedules.Schedule is Schedule is tideflow.schedules.Schedule
    assert clocks.RRuleClock is tideflow.schedules.RRuleClock
    assert issubclass(clocks.RRuleClock, Clock)


@pytest.mark.parametrize(
    "clock",
    [
        "IntervalClock(timedelta(hours=1))",
        "CronClock('0 * * * *')",
        "RRuleClock(rrule(HOURLY, dtstart=datetime(2020, 1, 1)))",
    ],
)
def test_every_clock_gives_events_from_now_without_after(clock: str) -> None:
    from datetime import timedelta

    from dateutil.rrule import HOURLY, rrule

    from tideflow.schedules.clocks import CronClock, IntervalClock, RRuleClock

    built = eval(
        clock,
        {
            "IntervalClock": IntervalClock,
            "CronClock": CronClock,
            "RRuleClock": RRuleClock,
            "timedelta": timedelta,
            "rrule": rrule,
            "HOURLY": HOURLY,
            "datetime": datetime,
        },
    )
    before = datetime.now(UTC)
    first = next(built.events()).start_time
    assert before < first <= datetime.now(UTC) + timedelta(hours=1)
    (scheduled,) = Schedule([built]).next(1)
    assert before < scheduled <= datetime.now(UTC) + timedelta(hours=1)


def test_a_dates_clock_without_after_gives_only_future_dates() -> None:
    from datetime import timedelta

    from tideflow.schedules.clocks import DatesClock

    now = datetime.now(UTC)
    clock = DatesClock([now - timedelta(days=1), now + timedelta(days=1)])
    assert [e.start_time for e in clock.events()] == [now + timedelta(days=1)]
