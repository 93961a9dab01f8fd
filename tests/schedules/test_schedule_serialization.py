"""Schedules as JSON: the format, round trips, versions and what decoders refuse."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from tideflow.errors import ScheduleError
from tideflow.schedules import (
    CronClock,
    CronSchedule,
    DatesClock,
    IntervalClock,
    IntervalSchedule,
    Schedule,
    adjustments,
    filters,
)

EVERYTHING = Schedule(
    clocks=[
        IntervalClock(
            timedelta(minutes=90),
            datetime(2026, 1, 1, 9, 30),
            datetime(2027, 1, 1),
            tz="Europe/Berlin",
            parameter_defaults={"batch-size": 1000, "tags": ["a", "b"]},
            labels=["eu"],
        ),
        CronClock("0 0 13 * FRI", day_or=False, tz="America/New_York"),
        DatesClock([datetime(2026, 10, 25, 0, 30, tzinfo=UTC)], tz="Europe/Berlin"),
    ],
    filters=[
        filters.is_weekday,
        filters.is_weekend,
        filters.is_month_start,
        filters.is_month_end,
        filters.is_day_of_week(3),
        filters.on_date(12, 24),
        filters.between_dates(12, 1, 1, 31),
    ],
    or_filters=[
        filters.at_time(time(9, 30, 15, 250)),
        filters.between_times(time(22), time(6)),
        filters.on_datetime(datetime(2026, 1, 1, 9)),
    ],
    not_filters=[
        filters.between_datetimes(datetime(2026, 1, 1), datetime(2026, 1, 2, 12, tzinfo=UTC)),
    ],
    adjustments=[adjustments.add(timedelta(seconds=-1.5)), adjustments.next_weekday],
)


def test_every_kind_of_part_round_trips_through_json() -> None:
    assert Schedule.from_json(EVERYTHING.to_json()) == EVERYTHING
    assert Schedule.from_dict(json.loads(json.dumps(EVERYTHING.to_dict()))) == EVERYTHING


def test_a_repeated_local_time_keeps_its_instant() -> None:
    # 2026-10-25 00:30 UTC is the first 02:30 in Berlin, 01:30 UTC the second.
    second = DatesClock([datetime(2026, 10, 25, 1, 30, tzinfo=UTC)], tz="Europe/Berlin")
    again = Schedule.from_json(Schedule([second]).to_json())
    (date,) = again.clocks[0].dates  # type: ignore[attr-defined]
    assert date.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert date.fold == 1


def test_the_format_is_plain_versioned_data() -> None:
    data = IntervalSchedule(
        datetime(2026, 1, 1, 9), timedelta(minutes=5), tz="Europe/Berlin"
    ).to_dict()
    assert data == {
        "version": 1,
        "type": "schedule",
        "clocks": [
            {
                "type": "interval",
                "interval": 300,
                "start_date": "2026-01-01T09:00:00+01:00",
                "end_date": None,
                "tz": "Europe/Berlin",
                "parameter_defaults": {},
                "labels": [],
            }
        ],
        "filters": [],
        "or_filters": [],
        "not_filters": [],
        "adjustments": [],
    }


def test_filter_and_adjustment_dicts() -> None:
    assert filters.is_weekday.to_dict() == {"type": "is_weekday"}
    assert filters.is_day_of_week(0).to_dict() == {"type": "is_day_of_week", "day": 0}
    assert filters.between_times(time(9), time(17, 30)).to_dict() == {
        "type": "between_times",
        "start": "09:00:00",
        "end": "17:30:00",
    }
    assert adjustments.add(timedelta(minutes=10)).to_dict() == {"type": "add", "delta": 600}
    assert adjustments.next_weekday.to_dict() == {"type": "next_weekday"}
    assert CronClock("@daily").to_dict()["cron"] == "@daily"


def test_unknown_keys_are_ignored_at_every_level() -> None:
    data = CronSchedule("0 9 * * *", tz="Europe/Berlin").to_dict()
    data["comment"] = "added by a newer Tideflow"
    data["clocks"][0]["jitter"] = 30
    data["filters"] = [{"type": "is_weekday", "note": "x"}]
    assert Schedule.from_dict(data) == Schedule(
        [CronClock("0 9 * * *", tz="Europe/Berlin")], filters=[filters.is_weekday]
    )


def test_missing_optional_keys_take_their_defaults() -> None:
    data = {"version": 1, "clocks": [{"type": "interval", "interval": 60}]}
    assert Schedule.from_dict(data) == IntervalSchedule(interval=timedelta(minutes=1))


def test_a_newer_version_is_refused_with_advice() -> None:
    data = {**CronSchedule("@daily").to_dict(), "version": 2}
    with pytest.raises(
        ScheduleError,
        match=r"^schedule data has version 2, but this Tideflow reads version 1; upgrade "
        r"Tideflow to load it",
    ):
        Schedule.from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"clocks": [{"type": "sundial"}]},
            r"clock type 'sundial' is unknown; known types: interval",
        ),
        ({"filters": [{"type": "is_holiday"}]}, r"filter type 'is_holiday' is unknown"),
        ({"adjustments": [{"type": "jitter"}]}, r"adjustment type 'jitter' is unknown"),
        ({"clocks": [{"type": "cron"}]}, r"cron data: missing key 'cron'"),
        ({"clocks": [{"type": "interval", "interval": "5m"}]}, r"interval: expected a number"),
        ({"filters": [{"type": "on_date", "month": 2}]}, r"on_date data: missing key 'day'"),
        ({"filters": [{"type": "at_time", "time": "9am"}]}, r"time: invalid time of day '9am'"),
        (
            {"clocks": [{"type": "dates", "dates": ["soon"]}]},
            r"dates: invalid ISO 8601 datetime 'soon'",
        ),
        (
            {"clocks": [{"type": "cron", "cron": "61 * * * *"}]},
            r"minute field: value '61' is out of range 0-59",
        ),
        (
            {"clocks": [{"type": "cron", "cron": "@daily", "tz": "Mars/Olympus"}]},
            r"unknown time zone",
        ),
    ],
)
def test_bad_data_is_refused_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    data = {**CronSchedule("@daily").to_dict(), **change}
    with pytest.raises(ScheduleError, match=message):
        Schedule.from_dict(data)


def test_invalid_json() -> None:
    with pytest.raises(ScheduleError, match=r"^invalid schedule JSON: Expecting value"):
        Schedule.from_json("not json")
    with pytest.raises(
        ScheduleError, match=r"^invalid schedule JSON: expected an object, got \[\]"
    ):
        Schedule.from_json("[]")


def test_equal_schedules_and_different_ones() -> None:
    assert CronSchedule("0 9 * * *", tz="Europe/Berlin") == CronSchedule(
        "0 9 * * *", tz="Europe/Berlin"
    )
    assert CronSchedule("0 9 * * *") != CronSchedule("0 9 * * *", tz="Europe/Berlin")
    assert CronSchedule("0 9 * * *") != CronSchedule("0 9 * * *", day_or=False)
    assert IntervalSchedule(interval=timedelta(hours=1)) != Schedule(
        [IntervalClock(timedelta(hours=1), labels=["x"])]
    )
