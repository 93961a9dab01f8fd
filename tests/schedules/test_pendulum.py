"""pendulum datetimes, which Prefect 1 flows use everywhere, are accepted wherever a datetime is:
they give the same schedules, events and plans as the standard datetimes they stand for, and
nothing pendulum-typed (with its wall-clock arithmetic) comes back out."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pendulum
import pytest

from tideflow.deployments import Deployment, Entrypoint
from tideflow.planner import Create, History, backfill_times, plan
from tideflow.schedules import (
    ClockEvent,
    CronClock,
    DatesClock,
    IntervalClock,
    IntervalSchedule,
    Schedule,
    adjustments,
    filters,
)
from tideflow.schedules.base import Clock

BERLIN = ZoneInfo("Europe/Berlin")
P_START = pendulum.datetime(2026, 3, 28, 22, 0, tz="Europe/Berlin")
START = datetime(2026, 3, 28, 22, 0, tzinfo=BERLIN)
P_AFTER = pendulum.datetime(2026, 3, 29, 0, 30, tz="Europe/Berlin")
AFTER = datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN)


def starts(clock: Clock, after: datetime, n: int = 4) -> list[datetime]:
    found = [event.start_time for event in islice(clock.events(after), n)]
    assert all(type(t) is datetime for t in found), "pendulum leaked out"
    return found


@pytest.mark.parametrize(
    "interval", [timedelta(minutes=30), timedelta(hours=1), timedelta(days=1), timedelta(hours=25)]
)
def test_an_interval_clock_from_a_pendulum_start_fires_as_from_a_datetime(
    interval: timedelta,
) -> None:
    from_pendulum = IntervalClock(interval, P_START)  # a sub-day interval used to crash here
    assert from_pendulum == IntervalClock(interval, START)
    assert starts(from_pendulum, P_AFTER) == starts(IntervalClock(interval, START), AFTER)


def test_a_cron_clock_takes_its_zone_and_bounds_from_pendulum_dates() -> None:
    clock = CronClock("30 2 * * *", P_START, pendulum.datetime(2026, 4, 1, tz="Europe/Berlin"))
    assert clock.tz == BERLIN
    assert [t.isoformat() for t in starts(clock, P_AFTER)] == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]


def test_a_dates_clock_takes_pendulum_dates() -> None:
    dates = [P_START, P_START.add(days=2), pendulum.datetime(2026, 3, 29, 12, tz="UTC")]
    clock = DatesClock(dates)
    assert clock.tz == BERLIN
    assert starts(clock, P_AFTER) == [
        datetime(2026, 3, 29, 12, tzinfo=UTC),
        datetime(2026, 3, 30, 22, tzinfo=BERLIN),
    ]


def test_schedule_next_and_events_take_a_pendulum_after() -> None:
    schedule = IntervalSchedule(start_date=P_START, interval=timedelta(hours=1))
    assert schedule.next(3, after=P_AFTER) == schedule.next(3, after=AFTER)
    assert [t.isoformat() for t in schedule.next(2, after=P_AFTER)] == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
    ]
    assert type(next(schedule.events(P_AFTER)).start_time) is datetime


def test_filters_and_adjustments_take_pendulum_datetimes() -> None:
    saturday = pendulum.datetime(2026, 3, 28, 9, 30, tz="Europe/Berlin")
    assert filters.is_weekend(saturday)
    assert not filters.is_weekday(saturday)
    assert filters.at_time(time(9, 30))(saturday)
    assert filters.between_times(time(9), time(10))(saturday)
    assert filters.on_date(3, 28)(saturday)
    assert filters.on_datetime(pendulum.datetime(2026, 3, 28, 8, 30, tz="UTC"))(saturday)
    window = filters.between_datetimes(P_START.subtract(days=1), P_START)
    assert window(saturday)
    moved = adjustments.next_weekday(saturday)
    assert type(moved) is datetime
    assert moved.isoformat() == "2026-03-30T09:30:00+02:00"  # Monday, same wall-clock time
    later = adjustments.add(timedelta(days=1))(saturday)
    assert later.isoformat() == "2026-03-29T09:30:00+02:00"  # over the DST change
    assert type(later) is datetime


def test_a_clock_event_keeps_the_instant_of_a_pendulum_start_time() -> None:
    event = ClockEvent(pendulum.datetime(2026, 10, 25, 2, 30, tz="Europe/Berlin"))
    assert type(event.start_time) is datetime
    # pendulum reads an ambiguous time as the second occurrence; the instant is kept.
    assert event.start_time.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_the_planner_takes_pendulum_times() -> None:
    dep = Deployment(
        name="etl",
        entrypoint=Entrypoint("flow", "etl.py:flow"),
        schedule=Schedule([IntervalClock(timedelta(minutes=1), P_START)]),
    )
    now = pendulum.datetime(2026, 3, 29, 12, 0, 30, tz="UTC")
    past = {"etl": History(registered_at=now.subtract(minutes=1))}
    actions = plan(now, [dep], past)
    assert actions == [Create("etl", datetime(2026, 3, 29, 12, tzinfo=UTC))]
    assert all(type(a.scheduled_time) is datetime for a in actions if isinstance(a, Create))
    window = backfill_times(dep, now.subtract(minutes=2), now)
    assert window == [
        datetime(2026, 3, 29, 11, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 12, tzinfo=UTC),
    ]
