"""Properties of schedules, checked on generated clocks, filters, adjustments and instants.

* fire times never go back and lie after ``after`` (an instant repeats only for events with
  different defaults or labels); asking one at a time gives the same instants;
* cron times are exactly those a brute-force evaluation of the five fields finds (UTC);
* interval times are exactly those found by stepping from the anchor;
* filters hold on every returned time; a union of clocks has no duplicate events;
* schedules survive JSON and repr round trips as equal objects with equal fire times.

Generated filters often never hold, and then ``next`` scans ``SCAN_LIMIT`` events before it
gives up; with a sparse clock (Friday the 13th) that is thousands of years of events. The limit
is lowered for this module to keep it fast: none of the properties depends on its value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

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
from tideflow.schedules import schedule as schedule_module
from tideflow.schedules.base import Clock, ClockEvent, Filter
from tideflow.schedules.zones import localize

FAST = settings(max_examples=60, deadline=None)
ZONES = [
    ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe")
]

zones = st.sampled_from(ZONES)
instants = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2060, 1, 1), timezones=zones
)
naive_times = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2060, 1, 1))


@pytest.fixture(autouse=True, scope="module")
def _small_scan_limit() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schedule_module, "SCAN_LIMIT", 200)
        yield


# ----------------------------------------------------------------------------- cron fields


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int


MINUTE, HOUR, DAY, MONTH, WEEKDAY = (
    Bounds(0, 59),
    Bounds(0, 23),
    Bounds(1, 31),
    Bounds(1, 12),
    Bounds(0, 7),
)


def cron_field(bounds: Bounds) -> st.SearchStrategy[str]:
    number = st.integers(bounds.low, bounds.high)
    pair = st.tuples(number, number).map(sorted)
    step = st.integers(1, bounds.high)
    term = st.one_of(
        number.map(str),
        pair.map(lambda p: f"{p[0]}-{p[1]}"),
        step.map(lambda s: f"*/{s}"),
        st.tuples(pair, step).map(lambda p: f"{p[0][0]}-{p[0][1]}/{p[1]}"),
    )
    return st.one_of(st.just("*"), st.lists(term, min_size=1, max_size=3).map(",".join))


cron_expressions = st.tuples(*(cron_field(b) for b in (MINUTE, HOUR, DAY, MONTH, WEEKDAY))).map(
    " ".join
)


def expand(text: str, bounds: Bounds) -> set[int]:
    """The values a field allows, computed independently of cronsim."""
    values: set[int] = set()
    for term in text.split(","):
        base, _, step = term.partition("/")
        if base == "*":
            low, high = bounds.low, bounds.high
        elif "-" in base:
            low, high = (int(v) for v in base.split("-"))
        else:
            low = int(base)
            high = bounds.high if step else low
        values.update(range(low, high + 1, int(step or 1)))
    return values


def day_matches(expression: str, day_or: bool, day: date) -> bool:
    _, _, days_text, months_text, weekdays_text = expression.split()
    if day.month not in expand(months_text, MONTH):
        return False
    in_days = day.day in expand(days_text, DAY)
    weekdays = {w % 7 for w in expand(weekdays_text, WEEKDAY)}  # 7 is Sunday too
    in_weekdays = (day.weekday() + 1) % 7 in weekdays
    if day_or and not (days_text.startswith("*") or weekdays_text.startswith("*")):
        return in_days or in_weekdays
    return in_days and in_weekdays


def brute_force_next(expression: str, day_or: bool, after: datetime) -> datetime | None:
    """The first UTC time after ``after`` matching every field, walking day by day."""
    minutes_text, hours_text = expression.split()[:2]
    clock_times = sorted(
        time(h, m) for h in expand(hours_text, HOUR) for m in expand(minutes_text, MINUTE)
    )
    day = after.date()
    for _ in range(366 * 30):
        if day_matches(expression, day_or, day):
            for at in clock_times:
                candidate = datetime.combine(day, at, tzinfo=UTC)
                if candidate > after:
                    return candidate
        day += timedelta(days=1)
    return None


@FAST
@given(cron_expressions, st.booleans(), instants)
def test_cron_times_are_exactly_the_matching_minutes(
    expression: str, day_or: bool, after: datetime
) -> None:
    try:
        schedule = CronSchedule(expression, day_or=day_or)
    except ScheduleError:
        assume(False)  # e.g. day-of-month 30-31 in February only
    expected = []
    moment = after.astimezone(UTC)
    for _ in range(5):
        found = brute_force_next(expression, day_or, moment)
        assume(found is not None)
        assert found is not None
        expected.append(found)
        moment = found
    assert schedule.next(5, after=after) == expected


# ---------------------------------------------------------------------------- intervals


@FAST
@given(
    st.sampled_from(
        [timedelta(minutes=1), timedelta(minutes=7), timedelta(hours=1), timedelta(hours=5)]
    ),
    naive_times,
    st.integers(0, 20_000),
    zones,
)
def test_sub_day_interval_times_are_found_by_stepping_from_the_anchor(
    interval: timedelta, start: datetime, minutes_later: int, zone: ZoneInfo
) -> None:
    clock = IntervalClock(interval, start, tz=zone)
    after = clock.anchor.astimezone(UTC) + timedelta(minutes=minutes_later)
    expected = clock.anchor.astimezone(UTC)
    while expected <= after:
        expected += interval
    assert next(clock.events(after)).start_time.astimezone(UTC) == expected


@FAST
@given(st.integers(1, 10), naive_times, st.integers(0, 400), zones)
def test_whole_day_interval_times_keep_the_anchors_wall_clock_time(
    days: int, start: datetime, days_later: int, zone: ZoneInfo
) -> None:
    clock = IntervalClock(timedelta(days=days), start.replace(microsecond=0), tz=zone)
    after = localize(clock.anchor.replace(tzinfo=None) + timedelta(days=days_later), zone)
    k = 0
    while True:
        wall = clock.anchor.replace(tzinfo=None, fold=0) + timedelta(days=k * days)
        expected = clock.anchor if k == 0 else localize(wall, zone)
        if expected.astimezone(UTC) > after.astimezone(UTC):
            break
        k += 1
    assert next(clock.events(after)).start_time.isoformat() == expected.isoformat()


# ----------------------------------------------------------------------- whole schedules


def interval_clocks() -> st.SearchStrategy[Clock]:
    intervals = st.sampled_from(
        [
            timedelta(minutes=1),
            timedelta(minutes=7),
            timedelta(hours=1),
            timedelta(minutes=90),
            timedelta(days=1),
            timedelta(days=2),
            timedelta(hours=25),
        ]
    )
    return st.builds(
        lambda interval, start, zone, labels: IntervalClock(
            interval, start, tz=zone, labels=labels, parameter_defaults={"n": len(labels)}
        ),
        intervals,
        st.none() | naive_times.map(lambda t: t.replace(microsecond=0)),
        zones,
        st.lists(st.sampled_from(["a", "b"]), max_size=2),
    )


def cron_clocks() -> st.SearchStrategy[Clock]:
    dense = st.sampled_from(
        [
            "*/5 * * * *",
            "0 * * * *",
            "30 2 * * *",
            "0 9 * * MON-FRI",
            "15,45 */3 * * *",
            "0 0 13 * FRI",
            "0 0 1-7 * MON",
            "@daily",
            "@weekly",
            "0 12 L * *",
        ]
    )
    return st.builds(
        lambda cron, day_or, zone: CronClock(cron, day_or=day_or, tz=zone),
        dense,
        st.booleans(),
        zones,
    )


def dates_clocks() -> st.SearchStrategy[Clock]:
    return st.builds(
        lambda dates, zone: DatesClock(dates, tz=zone),
        st.lists(
            naive_times.map(lambda t: t.replace(second=0, microsecond=0)), min_size=1, max_size=5
        ),
        zones,
    )


clocks = st.one_of(interval_clocks(), cron_clocks(), dates_clocks())

filter_pool = st.one_of(
    st.sampled_from(
        [filters.is_weekday, filters.is_weekend, filters.is_month_start, filters.is_month_end]
    ),
    st.integers(0, 6).map(filters.is_day_of_week),
    st.builds(filters.between_times, st.times(), st.times()),
    st.builds(filters.at_time, st.sampled_from([time(0), time(9), time(2, 30)])),
    st.builds(
        lambda m1, d1, m2, d2: filters.between_dates(m1, d1, m2, d2),
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(1, 12),
        st.integers(1, 28),
    ),
    st.builds(
        lambda a, b: filters.between_datetimes(min(a, b), max(a, b)), naive_times, naive_times
    ),
    naive_times.map(lambda t: filters.on_datetime(t.replace(second=0, microsecond=0))),
)
adjustment_pool = st.one_of(
    st.just(adjustments.next_weekday),
    st.sampled_from(
        [timedelta(minutes=-90), timedelta(minutes=10), timedelta(days=1), timedelta(days=-2)]
    ).map(adjustments.add),
)


@st.composite
def schedules(draw: st.DrawFn, with_adjustments: bool = True) -> Schedule:
    return Schedule(
        clocks=draw(st.lists(clocks, min_size=1, max_size=3)),
        filters=draw(st.lists(filter_pool, max_size=2)),
        or_filters=draw(st.lists(filter_pool, max_size=2)),
        not_filters=draw(st.lists(filter_pool, max_size=1)),
        adjustments=draw(st.lists(adjustment_pool, max_size=2)) if with_adjustments else [],
    )


def instants_of(times: list[datetime]) -> list[datetime]:
    return [t.astimezone(UTC) for t in times]


@FAST
@given(schedules(), instants)
def test_fire_times_increase_after_after_repeating_only_for_distinct_events(
    schedule: Schedule, after: datetime
) -> None:
    events = schedule.next(12, after=after, return_events=True)
    found = instants_of([e.start_time for e in events])
    assert all(t > after for t in found)
    assert all(a <= b for a, b in pairwise(found))
    for (t1, e1), (t2, e2) in pairwise(zip(found, events, strict=True)):
        if t1 == t2:  # the same instant twice: two runs with different defaults or labels
            assert (e1.parameter_defaults, e1.labels) != (e2.parameter_defaults, e2.labels)


@FAST
@given(schedules(), instants)
def test_asking_one_at_a_time_gives_the_same_instants(schedule: Schedule, after: datetime) -> None:
    batch = schedule.next(6, after=after)
    distinct = list(dict.fromkeys(t.astimezone(UTC).isoformat() for t in batch))
    one_by_one: list[datetime] = []
    for _ in range(len(distinct)):
        one_by_one += schedule.next(1, after=one_by_one[-1] if one_by_one else after)
    assert [t.astimezone(UTC).isoformat() for t in one_by_one] == distinct


@FAST
@given(schedules(with_adjustments=False), instants)
def test_filters_hold_on_every_fire_time(schedule: Schedule, after: datetime) -> None:
    def holds(group: tuple[Filter, ...], t: datetime) -> list[bool]:
        return [f(t) for f in group]

    for t in schedule.next(12, after=after):
        assert all(holds(schedule.filters, t))
        assert not schedule.or_filters or any(holds(schedule.or_filters, t))
        assert not any(holds(schedule.not_filters, t))


@FAST
@given(st.lists(clocks, min_size=2, max_size=3), instants)
def test_a_union_of_clocks_is_each_clocks_times_merged_without_duplicates(
    clock_list: list[Clock], after: datetime
) -> None:
    def key(event: ClockEvent) -> tuple[datetime, str, tuple[str, ...]]:
        return (event.start_time.astimezone(UTC), repr(event.parameter_defaults), event.labels)

    union = [key(e) for e in Schedule(clock_list).next(10, after=after, return_events=True)]
    each = sorted(
        (key(event)[0], index, key(event))
        for index, clock in enumerate(clock_list)
        for event in Schedule([clock]).next(10, after=after, return_events=True)
    )
    expected: list[tuple[datetime, str, tuple[str, ...]]] = []
    for _, _, found in each:
        if found not in expected:
            expected.append(found)
    assert len(set(union)) == len(union)
    assert union == expected[:10]


@FAST
@given(schedules(), instants)
def test_events_carry_the_same_times_as_next(schedule: Schedule, after: datetime) -> None:
    events = schedule.next(5, after=after, return_events=True)
    assert [e.start_time for e in events] == schedule.next(5, after=after)


# --------------------------------------------------------------------------- serialising

REPR_NAMES: dict[str, Any] = {
    "datetime": datetime,
    "timedelta": timedelta,
    "time": time,
    "Schedule": Schedule,
    "IntervalSchedule": IntervalSchedule,
    "CronSchedule": CronSchedule,
    "IntervalClock": IntervalClock,
    "CronClock": CronClock,
    "DatesClock": DatesClock,
    **{name: getattr(filters, name) for name in filters.__all__},
    "add": adjustments.add,
    "next_weekday": adjustments.next_weekday,
}


@FAST
@given(schedules(), instants)
def test_json_round_trips_to_an_equal_schedule(schedule: Schedule, after: datetime) -> None:
    data = json.loads(json.dumps(schedule.to_dict()))
    again = Schedule.from_dict(data)
    assert again == schedule
    assert Schedule.from_json(schedule.to_json()) == schedule
    assert again.next(5, after=after) == schedule.next(5, after=after)


@FAST
@given(schedules())
def test_repr_round_trips_to_an_equal_schedule(schedule: Schedule) -> None:
    assert eval(repr(schedule), dict(REPR_NAMES)) == schedule
