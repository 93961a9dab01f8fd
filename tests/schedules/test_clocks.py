"""Clocks: interval arithmetic, anchors, bounds, zones, events and argument checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from tideflow.errors import ScheduleError
from tideflow.schedules import ClockEvent, CronClock, DatesClock, IntervalClock
from tideflow.schedules.base import Clock

BERLIN = ZoneInfo("Europe/Berlin")


def times(clock: Clock, after: datetime, n: int = 3) -> list[str]:
    return [event.start_time.isoformat() for event in islice(clock.events(after), n)]


class TestIntervalClock:
    def test_without_a_start_a_one_minute_clock_ticks_on_the_minute(self) -> None:
        clock = IntervalClock(timedelta(minutes=1))
        assert times(clock, datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)) == [
            "2026-03-01T12:01:00+00:00",
            "2026-03-01T12:02:00+00:00",
            "2026-03-01T12:03:00+00:00",
        ]

    def test_the_default_anchor_is_2019_01_01_midnight_in_the_clocks_zone(self) -> None:
        clock = IntervalClock(timedelta(hours=5), tz="Europe/Berlin")
        assert clock.anchor == datetime(2019, 1, 1, tzinfo=BERLIN)
        assert times(clock, datetime(2019, 1, 1), 2) == [
            "2019-01-01T05:00:00+01:00",
            "2019-01-01T10:00:00+01:00",
        ]

    def test_events_are_strictly_after_after(self) -> None:
        clock = IntervalClock(timedelta(minutes=15))
        assert times(clock, datetime(2026, 1, 1, 10, 15, tzinfo=UTC), 1) == [
            "2026-01-01T10:30:00+00:00"
        ]

    def test_a_start_date_in_the_future_is_the_first_event(self) -> None:
        clock = IntervalClock(timedelta(hours=1), start_date=datetime(2030, 5, 17, 8, 20))
        assert times(clock, datetime(2026, 1, 1), 2) == [
            "2030-05-17T08:20:00+00:00",
            "2030-05-17T09:20:00+00:00",
        ]

    def test_the_phase_follows_the_start_date(self) -> None:
        clock = IntervalClock(timedelta(minutes=10), start_date=datetime(2026, 1, 1, 0, 3))
        assert times(clock, datetime(2026, 6, 1, 12, 0), 2) == [
            "2026-06-01T12:03:00+00:00",
            "2026-06-01T12:13:00+00:00",
        ]

    def test_the_first_event_far_in_the_future_is_computed_not_stepped_to(self) -> None:
        # 7 minutes does not divide a day: the answer depends on every step since 2019.
        clock = IntervalClock(timedelta(minutes=7))
        first = next(clock.events(datetime(9000, 1, 1, tzinfo=UTC))).start_time
        steps = (first - datetime(2019, 1, 1, tzinfo=UTC)) / timedelta(minutes=7)
        assert steps == int(steps)
        assert timedelta(0) < first - datetime(9000, 1, 1, tzinfo=UTC) <= timedelta(minutes=7)

    def test_events_stop_at_the_end_date_inclusive(self) -> None:
        clock = IntervalClock(
            timedelta(hours=1), datetime(2026, 1, 1), end_date=datetime(2026, 1, 1, 2)
        )
        assert times(clock, datetime(2025, 1, 1), 10) == [
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T01:00:00+00:00",
            "2026-01-01T02:00:00+00:00",
        ]

    def test_events_end_quietly_at_the_end_of_the_calendar(self) -> None:
        clock = IntervalClock(timedelta(days=400))
        found = [e.start_time for e in islice(clock.events(datetime(9998, 1, 1, tzinfo=UTC)), 5)]
        assert [t.date().isoformat() for t in found] == ["9998-05-11", "9999-06-15"]
        assert all((t - clock.anchor) % timedelta(days=400) == timedelta(0) for t in found)

    def test_whole_days_keep_the_wall_clock_time_and_other_intervals_do_not(self) -> None:
        assert IntervalClock(timedelta(days=2)).keeps_wall_time
        assert not IntervalClock(timedelta(hours=36)).keeps_wall_time
        assert not IntervalClock(timedelta(hours=5)).keeps_wall_time

    def test_a_multi_day_interval_counts_from_the_start(self) -> None:
        clock = IntervalClock(timedelta(days=3), start_date=datetime(2026, 1, 1, 9, 0))
        assert times(clock, datetime(2026, 1, 5), 2) == [
            "2026-01-07T09:00:00+00:00",
            "2026-01-10T09:00:00+00:00",
        ]

    @pytest.mark.parametrize(
        ("interval", "shown"),
        [
            (timedelta(0), "timedelta(seconds=0)"),
            (timedelta(minutes=-5), "timedelta(seconds=-300)"),
        ],
    )
    def test_an_interval_must_be_positive(self, interval: timedelta, shown: str) -> None:
        with pytest.raises(
            ScheduleError, match=rf"^interval: must be positive, got {re.escape(shown)}$"
        ):
            IntervalClock(interval)

    def test_an_interval_must_be_a_timedelta(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"interval: expected a datetime.timedelta such as timedelta\(minutes=5\), "
            r"got 60 \(int\)",
        ):
            IntervalClock(60)  # type: ignore[arg-type]

    def test_describe(self) -> None:
        assert IntervalClock(timedelta(minutes=5)).describe() == "every 5 minutes"
        assert IntervalClock(timedelta(seconds=90)).describe() == "every 90 seconds"
        assert IntervalClock(timedelta(hours=1)).describe() == "every hour"
        assert IntervalClock(timedelta(minutes=90)).describe() == "every 90 minutes"
        assert IntervalClock(timedelta(hours=36)).describe() == "every 36 hours"
        daily = IntervalClock(timedelta(days=1), datetime(2026, 3, 2, 9), tz="Europe/Berlin")
        assert daily.describe() == "every day at 09:00 (Europe/Berlin), from 2026-03-02 09:00"
        fortnightly = IntervalClock(timedelta(days=14), datetime(2026, 3, 2, 9))
        assert fortnightly.describe() == "every 2 weeks on Monday at 09:00, from 2026-03-02 09:00"
        assert IntervalClock(timedelta(days=3)).describe() == "every 3 days at 00:00"


class TestZones:
    def test_default_zone_is_utc(self) -> None:
        assert IntervalClock(timedelta(hours=1)).tz == ZoneInfo("UTC")

    def test_tz_by_name_or_zoneinfo(self) -> None:
        assert IntervalClock(timedelta(hours=1), tz="Europe/Berlin").tz == BERLIN
        assert CronClock("0 9 * * *", tz=BERLIN).tz == BERLIN

    def test_the_start_dates_zone_is_used_without_tz(self) -> None:
        clock = IntervalClock(timedelta(hours=1), datetime(2026, 1, 1, tzinfo=BERLIN))
        assert clock.tz == BERLIN

    def test_datetime_utc_becomes_the_utc_zone(self) -> None:
        clock = IntervalClock(timedelta(hours=1), datetime(2026, 1, 1, tzinfo=UTC))
        assert clock.tz == ZoneInfo("UTC")

    def test_naive_datetimes_are_wall_clock_times_in_the_zone(self) -> None:
        clock = IntervalClock(timedelta(days=1), datetime(2026, 1, 1, 9), tz="America/New_York")
        assert clock.start_date is not None
        assert clock.start_date.isoformat() == "2026-01-01T09:00:00-05:00"
        assert times(clock, datetime(2026, 1, 1, 9), 1) == ["2026-01-02T09:00:00-05:00"]

    def test_an_aware_start_date_is_converted_to_the_tz(self) -> None:
        clock = IntervalClock(
            timedelta(days=1), datetime(2026, 1, 1, 8, tzinfo=UTC), tz="Europe/Berlin"
        )
        assert times(clock, datetime(2025, 1, 1), 1) == ["2026-01-01T09:00:00+01:00"]

    def test_an_unknown_zone_is_named_in_the_error(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"^tz: unknown time zone 'Mars/Olympus'; use an IANA zone name such as "
            r"'Europe/Berlin'",
        ):
            CronClock("0 9 * * *", tz="Mars/Olympus")

    def test_a_malformed_zone_name_is_an_unknown_zone(self) -> None:
        with pytest.raises(ScheduleError, match=r"tz: unknown time zone '\.\./etc/passwd'"):
            IntervalClock(timedelta(hours=1), tz="../etc/passwd")

    def test_a_fixed_offset_is_refused_with_advice(self) -> None:
        with pytest.raises(
            ScheduleError, match=r"start_date: time zone UTC\+02:00 has no IANA name; pass tz="
        ):
            IntervalClock(
                timedelta(hours=1), datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))
            )


class TestBoundsAndArguments:
    def test_end_before_start_names_both(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"^end_date: 2026-01-01T00:00:00\+00:00 is before start_date "
            r"2026-02-01T00:00:00\+00:00",
        ):
            IntervalClock(timedelta(hours=1), datetime(2026, 2, 1), datetime(2026, 1, 1))

    def test_end_before_start_is_checked_for_cron_too(self) -> None:
        with pytest.raises(ScheduleError, match=r"^end_date: .* is before start_date"):
            CronClock("* * * * *", datetime(2026, 2, 1), datetime(2026, 1, 1))

    def test_start_equal_to_end_fires_once(self) -> None:
        moment = datetime(2026, 1, 1, 9)
        assert times(IntervalClock(timedelta(hours=1), moment, moment), datetime(2025, 1, 1)) == [
            "2026-01-01T09:00:00+00:00"
        ]

    def test_a_start_date_that_is_not_a_datetime(self) -> None:
        with pytest.raises(
            ScheduleError, match=r"start_date: expected a datetime, got '2026-01-01' \(str\)"
        ):
            IntervalClock(timedelta(hours=1), "2026-01-01")  # type: ignore[arg-type]

    def test_after_must_be_a_datetime(self) -> None:
        with pytest.raises(ScheduleError, match=r"after: expected a datetime, got 0 \(int\)"):
            next(IntervalClock(timedelta(hours=1)).events(0))  # type: ignore[arg-type]


class TestEvents:
    def test_events_carry_the_clocks_parameter_defaults_and_labels(self) -> None:
        clock = IntervalClock(
            timedelta(hours=1), parameter_defaults={"batch-size": 10}, labels=["gpu"]
        )
        event = next(clock.events(datetime(2026, 1, 1)))
        assert event == ClockEvent(
            datetime(2026, 1, 1, 1, tzinfo=UTC), {"batch-size": 10}, ("gpu",)
        )

    def test_changing_an_events_parameters_does_not_change_the_clock(self) -> None:
        clock = IntervalClock(timedelta(hours=1), parameter_defaults={"x": 1})
        next(clock.events(datetime(2026, 1, 1))).parameter_defaults["x"] = 2
        assert clock.parameter_defaults == {"x": 1}

    def test_events_order_and_compare_by_instant_across_zones(self) -> None:
        berlin = ClockEvent(datetime(2026, 1, 1, 10, tzinfo=BERLIN))
        utc = ClockEvent(datetime(2026, 1, 1, 9, tzinfo=UTC))
        later = ClockEvent(datetime(2026, 1, 1, 9, 30, tzinfo=UTC))
        assert berlin == utc
        assert hash(berlin) == hash(utc)
        assert berlin < later
        assert later > berlin
        assert berlin <= utc
        assert utc >= berlin

    def test_the_two_occurrences_of_a_repeated_time_are_different_events(self) -> None:
        # Python compares datetimes of one zone by wall-clock fields, ignoring fold.
        first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
        second = first.replace(fold=1)
        assert first == second
        assert ClockEvent(first) != ClockEvent(second)
        assert ClockEvent(first) < ClockEvent(second)

    def test_labels_become_a_tuple(self) -> None:
        assert ClockEvent(datetime(2026, 1, 1, tzinfo=UTC), labels=["a"]).labels == ("a",)


class TestDatesClock:
    def test_dates_fire_in_order_once_each(self) -> None:
        clock = DatesClock(
            [datetime(2026, 3, 1), datetime(2026, 1, 1), datetime(2026, 3, 1, tzinfo=UTC)]
        )
        assert times(clock, datetime(2025, 1, 1), 5) == [
            "2026-01-01T00:00:00+00:00",
            "2026-03-01T00:00:00+00:00",
        ]
        assert clock.start_date == datetime(2026, 1, 1, tzinfo=UTC)
        assert clock.end_date == datetime(2026, 3, 1, tzinfo=UTC)

    def test_only_dates_after_after(self) -> None:
        clock = DatesClock([datetime(2026, 1, 1), datetime(2026, 3, 1)])
        assert times(clock, datetime(2026, 1, 1), 5) == ["2026-03-01T00:00:00+00:00"]

    def test_naive_dates_are_in_tz_and_the_zone_defaults_to_the_first_dates(self) -> None:
        assert times(
            DatesClock([datetime(2026, 1, 1, 9)], tz="Europe/Berlin"), datetime(2025, 1, 1)
        ) == ["2026-01-01T09:00:00+01:00"]
        assert DatesClock([datetime(2026, 1, 1, tzinfo=BERLIN)]).tz == BERLIN

    def test_describe(self) -> None:
        assert DatesClock([datetime(2026, 1, 1, 9)]).describe() == "once at 2026-01-01 09:00"
        two = DatesClock([datetime(2026, 1, 1, 9), datetime(2026, 2, 1, 9)], tz="Europe/Berlin")
        assert two.describe() == (
            "on 2 dates from 2026-01-01 09:00 (Europe/Berlin) to 2026-02-01 09:00 (Europe/Berlin)"
        )

    def test_at_least_one_date(self) -> None:
        with pytest.raises(
            ScheduleError, match=r"^dates: a DatesClock needs at least one datetime"
        ):
            DatesClock([])

    def test_dates_must_be_datetimes(self) -> None:
        with pytest.raises(ScheduleError, match=r"dates\[1\]: expected a datetime, got 5 \(int\)"):
            DatesClock([datetime(2026, 1, 1), 5])  # type: ignore[list-item]


class TestRepr:
    def test_clock_reprs_read_like_code(self) -> None:
        assert repr(IntervalClock(timedelta(minutes=5))) == "IntervalClock(timedelta(seconds=300))"
        assert repr(CronClock("0 9 * * *", day_or=False, tz="Europe/Berlin", labels=["a"])) == (
            "CronClock('0 9 * * *', day_or=False, tz='Europe/Berlin', labels=['a'])"
        )
        assert repr(DatesClock([datetime(2026, 1, 1, 9, 30)])) == (
            "DatesClock([datetime(2026, 1, 1, 9, 30)])"
        )

    def test_the_repr_of_a_repeated_time_keeps_its_fold(self) -> None:
        start = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, the second 02:30
        clock = IntervalClock(timedelta(days=1), start, tz="Europe/Berlin")
        assert "start_date=datetime(2026, 10, 25, 2, 30, fold=1)" in repr(clock)
        rebuilt = eval(
            repr(clock),
            {"IntervalClock": IntervalClock, "datetime": datetime, "timedelta": timedelta},
        )
        assert rebuilt == clock
        assert rebuilt.start_date.utcoffset() == timedelta(hours=1)
