"""Daylight saving time, on real zone tables: cron, sub-day intervals and whole-day intervals.

The rules (see tideflow.schedules): cron follows the wall clock like Debian cron (a skipped
fixed time fires once at the end of the gap, a repeated fixed time fires once, at its first
occurrence; hourly jobs skip the missing hour and run in both repeated hours); intervals under a
day step in absolute time; whole-day intervals keep the wall-clock time (gap: end of the gap,
repeated: first occurrence).

Every row lists the expected fire times as ISO text, so the UTC offset shows which side of a
transition each time is on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tideflow.schedules import CronClock, CronSchedule, IntervalSchedule, Schedule


def fire(schedule: Schedule, after: datetime, n: int) -> list[str]:
    return [t.isoformat() for t in schedule.next(n, after=after)]


def fire_one_by_one(schedule: Schedule, after: datetime, n: int) -> list[str]:
    """As a scheduler asks: each time the next one after the previous."""
    found = []
    for _ in range(n):
        (after,) = schedule.next(1, after=after)
        found.append(after.isoformat())
    return found


# Europe/Berlin, 2026:
#   2026-03-29 01:00 UTC: 02:00 CET (+01:00) -> 03:00 CEST (+02:00), 02:00-02:59 is skipped
#   2026-10-25 01:00 UTC: 03:00 CEST (+02:00) -> 02:00 CET (+01:00), 02:00-02:59 happens twice
BERLIN = [
    pytest.param(
        CronSchedule("30 2 * * *", tz="Europe/Berlin"),
        datetime(2026, 3, 28),
        ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        id="berlin-spring-cron-fixed-time-in-the-gap-fires-at-the-end-of-the-gap",
    ),
    pytest.param(
        CronSchedule("30 2 * * *", tz="Europe/Berlin"),
        datetime(2026, 10, 24),
        ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        id="berlin-fall-cron-fixed-time-repeated-fires-once-at-the-first-occurrence",
    ),
    pytest.param(
        CronSchedule("0 9 * * *", tz="Europe/Berlin"),
        datetime(2026, 3, 28),
        ["2026-03-28T09:00:00+01:00", "2026-03-29T09:00:00+02:00"],
        id="berlin-spring-cron-fixed-time-outside-the-gap-keeps-local-time",
    ),
    pytest.param(
        CronSchedule("0 * * * *", tz="Europe/Berlin"),
        datetime(2026, 3, 29, 0, 30),
        ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"],
        id="berlin-spring-cron-hourly-skips-the-missing-hour",
    ),
    pytest.param(
        CronSchedule("0 * * * *", tz="Europe/Berlin"),
        datetime(2026, 10, 25, 0, 30),
        [
            "2026-10-25T01:00:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ],
        id="berlin-fall-cron-hourly-runs-in-both-repeated-hours",
    ),
    pytest.param(
        IntervalSchedule(interval=timedelta(hours=1), tz="Europe/Berlin"),
        datetime(2026, 3, 29, 0, 30),
        ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"],
        id="berlin-spring-interval-hourly-is-one-hour-apart-in-absolute-time",
    ),
    pytest.param(
        IntervalSchedule(interval=timedelta(hours=1), tz="Europe/Berlin"),
        datetime(2026, 10, 25, 0, 30),
        [
            "2026-10-25T01:00:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ],
        id="berlin-fall-interval-hourly-is-one-hour-apart-in-absolute-time",
    ),
    pytest.param(
        IntervalSchedule(datetime(2026, 3, 27, 2, 30), timedelta(days=1), tz="Europe/Berlin"),
        datetime(2026, 3, 27, 12),
        ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        id="berlin-spring-interval-daily-in-the-gap-fires-at-the-end-of-the-gap",
    ),
    pytest.param(
        IntervalSchedule(datetime(2026, 10, 23, 2, 30), timedelta(days=1), tz="Europe/Berlin"),
        datetime(2026, 10, 23, 12),
        ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        id="berlin-fall-interval-daily-repeated-fires-once-at-the-first-occurrence",
    ),
]

# America/New_York, 2026:
#   2026-03-08 07:00 UTC: 02:00 EST (-05:00) -> 03:00 EDT (-04:00), 02:00-02:59 is skipped
#   2026-11-01 06:00 UTC: 02:00 EDT (-04:00) -> 01:00 EST (-05:00), 01:00-01:59 happens twice
NEW_YORK = [
    pytest.param(
        CronSchedule("30 2 * * *", tz="America/New_York"),
        datetime(2026, 3, 7),
        ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        id="new-york-spring-cron-fixed-time-in-the-gap-fires-at-the-end-of-the-gap",
    ),
    pytest.param(
        CronSchedule("30 1 * * *", tz="America/New_York"),
        datetime(2026, 10, 31),
        ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        id="new-york-fall-cron-fixed-time-repeated-fires-once-at-the-first-occurrence",
    ),
    pytest.param(
        CronSchedule("0 * * * *", tz="America/New_York"),
        datetime(2026, 3, 8, 0, 30),
        ["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"],
        id="new-york-spring-cron-hourly-skips-the-missing-hour",
    ),
    pytest.param(
        CronSchedule("0 * * * *", tz="America/New_York"),
        datetime(2026, 11, 1, 0, 30),
        ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"],
        id="new-york-fall-cron-hourly-runs-in-both-repeated-hours",
    ),
    pytest.param(
        IntervalSchedule(interval=timedelta(hours=1), tz="America/New_York"),
        datetime(2026, 3, 8, 0, 30),
        ["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"],
        id="new-york-spring-interval-hourly-is-one-hour-apart-in-absolute-time",
    ),
    pytest.param(
        IntervalSchedule(interval=timedelta(hours=1), tz="America/New_York"),
        datetime(2026, 11, 1, 0, 30),
        ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"],
        id="new-york-fall-interval-hourly-is-one-hour-apart-in-absolute-time",
    ),
    pytest.param(
        IntervalSchedule(datetime(2026, 3, 6, 2, 30), timedelta(days=1), tz="America/New_York"),
        datetime(2026, 3, 6, 12),
        ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        id="new-york-spring-interval-daily-in-the-gap-fires-at-the-end-of-the-gap",
    ),
    pytest.param(
        IntervalSchedule(datetime(2026, 10, 30, 1, 30), timedelta(days=1), tz="America/New_York"),
        datetime(2026, 10, 30, 12),
        ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        id="new-york-fall-interval-daily-repeated-fires-once-at-the-first-occurrence",
    ),
]

# Australia/Lord_Howe, 2026 (southern hemisphere, 30-minute shift):
#   2026-04-04 15:00 UTC: 02:00 (+11:00) -> 01:30 (+10:30) on 04-05, 01:30-01:59 happens twice
#   2026-10-03 15:30 UTC: 02:00 (+10:30) -> 02:30 (+11:00) on 10-04, 02:00-02:29 is skipped
LORD_HOWE = [
    pytest.param(
        CronSchedule("15 2 * * *", tz="Australia/Lord_Howe"),
        datetime(2026, 10, 3),
        ["2026-10-03T02:15:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"],
        id="lord-howe-spring-cron-fixed-time-in-the-gap-fires-at-the-end-of-the-gap",
    ),
    pytest.param(
        CronSchedule("45 1 * * *", tz="Australia/Lord_Howe"),
        datetime(2026, 4, 4),
        ["2026-04-04T01:45:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"],
        id="lord-howe-fall-cron-fixed-time-repeated-fires-once-at-the-first-occurrence",
    ),
    pytest.param(
        CronSchedule("0 * * * *", tz="Australia/Lord_Howe"),
        datetime(2026, 10, 4, 0, 30),
        ["2026-10-04T01:00:00+10:30", "2026-10-04T03:00:00+11:00", "2026-10-04T04:00:00+11:00"],
        id="lord-howe-spring-cron-hourly-has-no-02-00-in-the-half-skipped-hour",
    ),
    pytest.param(
        CronSchedule("*/30 * * * *", tz="Australia/Lord_Howe"),
        datetime(2026, 4, 5, 0, 45),
        [
            "2026-04-05T01:00:00+11:00",
            "2026-04-05T01:30:00+11:00",
            "2026-04-05T01:30:00+10:30",
            "2026-04-05T02:00:00+10:30",
        ],
        id="lord-howe-fall-cron-half-hourly-runs-in-both-repeated-half-hours",
    ),
    pytest.param(
        CronSchedule("0 * * * *", tz="Australia/Lord_Howe"),
        datetime(2026, 4, 5, 0, 30),
        ["2026-04-05T01:00:00+11:00", "2026-04-05T02:00:00+10:30", "2026-04-05T03:00:00+10:30"],
        id="lord-howe-fall-cron-hourly-keeps-the-wall-clock-hour",
    ),
    pytest.param(
        IntervalSchedule(interval=timedelta(hours=1), tz="Australia/Lord_Howe"),
        datetime(2026, 10, 4, 0, 45),
        ["2026-10-04T01:30:00+10:30", "2026-10-04T03:00:00+11:00", "2026-10-04T04:00:00+11:00"],
        id="lord-howe-spring-interval-hourly-moves-from-half-past-to-on-the-hour",
    ),
    pytest.param(
        IntervalSchedule(interval=timedelta(hours=1), tz="Australia/Lord_Howe"),
        datetime(2026, 4, 5, 0, 30),
        ["2026-04-05T01:00:00+11:00", "2026-04-05T01:30:00+10:30", "2026-04-05T02:30:00+10:30"],
        id="lord-howe-fall-interval-hourly-moves-from-on-the-hour-to-half-past",
    ),
    pytest.param(
        IntervalSchedule(datetime(2026, 10, 2, 2, 15), timedelta(days=1), tz="Australia/Lord_Howe"),
        datetime(2026, 10, 2, 12),
        ["2026-10-03T02:15:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"],
        id="lord-howe-spring-interval-daily-in-the-gap-fires-at-the-end-of-the-gap",
    ),
    pytest.param(
        IntervalSchedule(datetime(2026, 4, 3, 1, 45), timedelta(days=1), tz="Australia/Lord_Howe"),
        datetime(2026, 4, 3, 12),
        ["2026-04-04T01:45:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"],
        id="lord-howe-fall-interval-daily-repeated-fires-once-at-the-first-occurrence",
    ),
]


@pytest.mark.parametrize(("schedule", "after", "expected"), BERLIN + NEW_YORK + LORD_HOWE)
def test_fire_times_across_dst(schedule: Schedule, after: datetime, expected: list[str]) -> None:
    assert fire(schedule, after, len(expected)) == expected


@pytest.mark.parametrize(("schedule", "after", "expected"), BERLIN + NEW_YORK + LORD_HOWE)
def test_asking_one_time_at_a_time_gives_the_same_times(
    schedule: Schedule, after: datetime, expected: list[str]
) -> None:
    assert fire_one_by_one(schedule, after, len(expected)) == expected


# Europe/Berlin, 2026-10-25 01:00 UTC: 03:00 CEST -> 02:00 CET (02:00-02:59 happens twice).
# Asking from inside the second 02:00-02:59 (fold=1) must not return the first 02:30 again.
@pytest.mark.parametrize(
    "schedule",
    [
        CronSchedule("30 2 * * *", tz="Europe/Berlin"),
        IntervalSchedule(datetime(2026, 10, 20, 2, 30), timedelta(days=1), tz="Europe/Berlin"),
    ],
    ids=["cron", "interval-daily"],
)
def test_a_repeated_time_is_not_returned_again_from_inside_the_second_hour(
    schedule: Schedule,
) -> None:
    second_pass = datetime(2026, 10, 25, 2, 10, fold=1)
    assert fire(schedule, second_pass, 1) == ["2026-10-26T02:30:00+01:00"]


# Europe/Berlin, 2026-10-25 01:00 UTC: 03:00 CEST -> 02:00 CET (02:00-02:59 happens twice).
# A clock on its own keeps the same promise as the schedule: events strictly after `after`.
def test_a_cron_clock_asked_from_inside_the_second_hour_skips_to_the_next_day() -> None:
    clock = CronClock("30 2 * * *", tz="Europe/Berlin")
    first = next(clock.events(datetime(2026, 10, 25, 2, 10, fold=1))).start_time
    assert first.isoformat() == "2026-10-26T02:30:00+01:00"


# Europe/Berlin, 2026-03-29 01:00 UTC: 02:00 CET -> 03:00 CEST. 2026-03-29 is a Sunday, so the
# day_or=False walk (day-of-month AND day-of-week) meets cronsim's gap handling there.
def test_day_or_false_fires_at_the_end_of_the_gap_too() -> None:
    schedule = CronSchedule("30 2 29 3 SUN", day_or=False, tz="Europe/Berlin")
    assert fire(schedule, datetime(2026, 1, 1), 2) == [
        "2026-03-29T03:00:00+02:00",
        "2037-03-29T03:00:00+02:00",
    ]


# America/New_York, 2026-03-08 07:00 UTC: 02:00 EST -> 03:00 EDT. A daily interval anchored at
# 09:00 stays at 09:00 local time although that day has only 23 hours.
def test_a_daily_interval_keeps_nine_oclock_across_dst() -> None:
    schedule = IntervalSchedule(datetime(2026, 3, 6, 9), timedelta(days=1), tz="America/New_York")
    assert fire(schedule, datetime(2026, 3, 6, 12), 3) == [
        "2026-03-07T09:00:00-05:00",
        "2026-03-08T09:00:00-04:00",
        "2026-03-09T09:00:00-04:00",
    ]


# America/New_York, 2026-03-08 07:00 UTC: 02:00 EST -> 03:00 EDT. A 25-hour interval is not a
# whole number of days, so it steps in absolute time: the wall clock drifts by 2 hours, not 1.
def test_a_non_whole_day_interval_steps_in_absolute_time() -> None:
    schedule = IntervalSchedule(datetime(2026, 3, 7, 9), timedelta(hours=25), tz="America/New_York")
    assert fire(schedule, datetime(2026, 3, 7, 8), 2) == [
        "2026-03-07T09:00:00-05:00",
        "2026-03-08T11:00:00-04:00",
    ]
