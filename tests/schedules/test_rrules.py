"""RRuleClock and RRuleSchedule: iCalendar recurrence rules (dateutil) as wall-clock times in
the clock's zone, with Prefect 1's arguments, DST rules like cron's, and exact round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pendulum
import pytest
from dateutil import tz
from dateutil.rrule import (
    DAILY,
    FR,
    HOURLY,
    MINUTELY,
    MO,
    MONTHLY,
    SECONDLY,
    TH,
    WEEKLY,
    rrule,
    rruleset,
)

from tideflow.errors import ScheduleError
from tideflow.schedules import RRuleClock, RRuleSchedule, Schedule, filters
from tideflow.schedules.clocks import clock_from_dict

BERLIN = ZoneInfo("Europe/Berlin")


def times(clock: RRuleClock, after: datetime, n: int = 3) -> list[str]:
    return [event.start_time.isoformat() for event in islice(clock.events(after), n)]


def test_a_weekly_rule_fires_on_its_days_at_its_local_time_across_dst() -> None:
    rule = rrule(WEEKLY, byweekday=(MO, TH), byhour=9, byminute=0, dtstart=datetime(2026, 3, 1))
    clock = RRuleClock(rule, tz="Europe/Berlin")
    assert times(clock, datetime(2026, 3, 24), 4) == [
        "2026-03-26T09:00:00+01:00",  # Thursday, CET
        "2026-03-30T09:00:00+02:00",  # Monday after the change, CEST: still 09:00
        "2026-04-02T09:00:00+02:00",
        "2026-04-06T09:00:00+02:00",
    ]


def test_the_zone_comes_from_tz_then_start_date_then_dtstart_then_utc() -> None:
    aware = rrule(DAILY, dtstart=datetime(2026, 1, 1, 9, tzinfo=BERLIN))
    assert RRuleClock(aware).tz.key == "Europe/Berlin"
    assert RRuleClock(aware, tz="America/New_York").tz.key == "America/New_York"
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert RRuleClock(aware, start_date=start).tz.key == "Asia/Tokyo"
    assert RRuleClock(rrule(DAILY, dtstart=datetime(2026, 1, 1))).tz.key == "UTC"
    gettz = rrule(DAILY, dtstart=datetime(2026, 1, 1, 9, tzinfo=tz.gettz("Europe/Berlin")))
    assert RRuleClock(gettz).tz.key == "Europe/Berlin"


def test_an_aware_dtstart_is_read_as_wall_clock_time_in_the_clocks_zone() -> None:
    rule = rrule(DAILY, dtstart=datetime(2026, 1, 1, 8, tzinfo=UTC))  # 09:00 in Berlin
    clock = RRuleClock(rule, tz="Europe/Berlin")
    assert times(clock, datetime(2026, 7, 1), 1) == ["2026-07-01T09:00:00+02:00"]


def test_an_hourly_rule_skips_the_missing_hour_and_fires_once_in_the_repeated_one() -> None:
    clock = RRuleClock(rrule(HOURLY, dtstart=datetime(2026, 1, 1)), tz="Europe/Berlin")
    spring = times(clock, datetime(2026, 3, 29, 0, 0), 3)
    assert spring == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",  # 02:00 does not exist: the end of the gap, once
        "2026-03-29T04:00:00+02:00",
    ]
    autumn = times(clock, datetime(2026, 10, 25, 0, 0), 4)
    assert autumn == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:00:00+02:00",  # the first 02:00 only
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T04:00:00+01:00",
    ]
    start = datetime(2026, 3, 29, tzinfo=BERLIN)
    day = [e for e in islice(clock.events(start), 30) if e.start_time.day == 29]
    assert len(day) == 22  # 01:00 and 03:00 .. 23:00: 23 wall-clock hours, midnight excluded


def test_after_inside_the_repeated_hour_does_not_fire_again() -> None:
    clock = RRuleClock(rrule(DAILY, byhour=2, byminute=30, dtstart=datetime(2026, 1, 1)))
    berlin = RRuleClock(clock.rrule, tz="Europe/Berlin")
    second_0215 = datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=BERLIN)  # after the 02:30 CEST
    assert times(berlin, second_0215, 1) == ["2026-10-26T02:30:00+01:00"]
    assert times(berlin, datetime(2026, 3, 28, 12), 1) == ["2026-03-29T03:00:00+02:00"]


@pytest.mark.parametrize(
    "rule",
    [
        rrule(HOURLY, interval=5, byminute=(10, 40), dtstart=datetime(2025, 1, 1, 3, 10)),
        rrule(DAILY, interval=3, byhour=(6, 18), dtstart=datetime(2024, 2, 29, 6)),
        rrule(MINUTELY, interval=7, bysecond=30, dtstart=datetime(2026, 2, 20, 0, 0, 30)),
        rrule(SECONDLY, interval=13, dtstart=datetime(2026, 2, 28, 23, 0, 1)),
        rrule(DAILY, count=400, dtstart=datetime(2025, 3, 1, 9)),
        rrule(WEEKLY, interval=2, byweekday=(MO, FR), dtstart=datetime(2024, 1, 3, 8)),
    ],
)
def test_rules_anchored_long_ago_give_exactly_dateutils_occurrences(rule: rrule) -> None:
    # Tideflow skips ahead instead of walking from dtstart; the occurrences must not change.
    clock = RRuleClock(rule)
    for after in (datetime(2026, 3, 1, 0, 0), datetime(2026, 3, 1, 13, 7, 29)):
        expected = list(islice(rule.xafter(after), 5))
        found = [e.start_time.replace(tzinfo=None) for e in islice(clock.events(after), 5)]
        assert found == expected


def test_count_until_start_date_and_end_date_all_bound_the_events() -> None:
    rule = rrule(DAILY, count=5, dtstart=datetime(2026, 1, 1, 9))
    assert len(times(RRuleClock(rule), datetime(2025, 1, 1), 10)) == 5
    until = rrule(DAILY, until=datetime(2026, 1, 3, 9), dtstart=datetime(2026, 1, 1, 9))
    assert times(RRuleClock(until), datetime(2025, 1, 1), 10)[-1] == "2026-01-03T09:00:00+00:00"
    bounded = RRuleClock(
        rrule(DAILY, dtstart=datetime(2026, 1, 1, 9)),
        start_date=datetime(2026, 1, 5, 9),
        end_date=datetime(2026, 1, 7, 9),
    )
    assert times(bounded, datetime(2025, 1, 1), 10) == [
        "2026-01-05T09:00:00+00:00",
        "2026-01-06T09:00:00+00:00",
        "2026-01-07T09:00:00+00:00",
    ]


def test_events_without_after_start_from_now() -> None:
    clock = RRuleClock(rrule(HOURLY, dtstart=datetime(2020, 1, 1)))
    before = datetime.now(UTC)
    first = next(clock.events()).start_time
    assert before < first <= datetime.now(UTC) + timedelta(hours=1)


def test_events_carry_the_parameter_defaults_and_labels() -> None:
    clock = RRuleClock(
        rrule(DAILY, dtstart=datetime(2026, 1, 1)),
        parameter_defaults={"x": 1},
        labels=["rr"],
    )
    event = next(clock.events(datetime(2026, 2, 1)))
    assert (event.parameter_defaults, event.labels) == ({"x": 1}, ("rr",))


def test_a_pendulum_dtstart_and_pendulum_bounds_are_accepted() -> None:
    rule = rrule(DAILY, byhour=9, dtstart=pendulum.datetime(2026, 3, 1, tz="Europe/Berlin"))
    clock = RRuleClock(rule, end_date=pendulum.datetime(2026, 3, 31, tz="Europe/Berlin"))
    assert clock.tz.key == "Europe/Berlin"
    after = pendulum.datetime(2026, 3, 28, 12, tz="Europe/Berlin")
    assert times(clock, after, 5) == [
        "2026-03-29T09:00:00+02:00",
        "2026-03-30T09:00:00+02:00",
    ]


def test_rfc_5545_text_is_accepted_and_is_what_the_clock_keeps() -> None:
    text = "DTSTART:20260105T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO"
    clock = RRuleClock(text, tz="Europe/Berlin")
    assert clock == RRuleClock(
        rrule(WEEKLY, byweekday=MO, dtstart=datetime(2026, 1, 5, 9)), tz=BERLIN
    )
    assert clock.rule_text == text
    assert clock.describe() == (
        "by the rule FREQ=WEEKLY;BYDAY=MO, anchored at 2026-01-05 09:00 (Europe/Berlin)"
    )


def test_a_clock_round_trips_through_dict_json_and_repr() -> None:
    clock = RRuleClock(
        rrule(MONTHLY, byweekday=FR(-1), byhour=17, byminute=0, dtstart=datetime(2026, 1, 1)),
        start_date=datetime(2026, 2, 1),
        end_date=datetime(2026, 12, 31),
        tz="Europe/Berlin",
        parameter_defaults={"report": "monthly"},
        labels=["finance"],
    )
    assert clock_from_dict(json.loads(json.dumps(clock.to_dict()))) == clock
    assert eval(repr(clock), {"RRuleClock": RRuleClock, "datetime": datetime}) == clock
    schedule = Schedule([clock], filters=[filters.is_weekday])
    again = Schedule.from_json(schedule.to_json())
    after = datetime(2026, 1, 1, tzinfo=UTC)
    assert again == schedule
    assert again.next(3, after=after) == schedule.next(3, after=after)
    assert [t.isoformat() for t in again.next(2, after=after)] == [
        "2026-02-27T17:00:00+01:00",
        "2026-03-27T17:00:00+01:00",
    ]


def test_rrule_schedule_is_prefect_1s_one_clock_factory() -> None:
    rule = rrule(WEEKLY, byweekday=TH, dtstart=datetime(2026, 1, 1, 6))
    schedule = RRuleSchedule(rule, end_date=datetime(2026, 1, 15, 6))
    assert schedule == Schedule([RRuleClock(rule, end_date=datetime(2026, 1, 15, 6))])
    assert repr(schedule) == (
        "RRuleSchedule('DTSTART:20260101T060000\\nRRULE:FREQ=WEEKLY;BYDAY=TH', "
        "end_date=datetime(2026, 1, 15, 6, 0))"
    )
    assert [t.day for t in schedule.next(5, after=datetime(2025, 12, 1))] == [1, 8, 15]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (rruleset(), r"^rrule: an rruleset is not supported; give each rrule its own RRuleClock"),
        ("FREQ=SOMETIMES", r"^rrule: invalid recurrence rule 'FREQ=SOMETIMES' \(.*\); expected"),
        (42, r"^rrule: expected a dateutil.rrule.rrule such as rrule\(DAILY, .*got 42 \(int\)"),
        ("RRULE:FREQ=DAILY\nRDATE:20260101T000000", r"^rrule: an rruleset is not supported"),
    ],
)
def test_something_that_is_not_one_rrule_is_refused_saying_what_to_give(
    rule: object, message: str
) -> None:
    with pytest.raises(ScheduleError, match=message):
        RRuleClock(rule)  # type: ignore[arg-type]
