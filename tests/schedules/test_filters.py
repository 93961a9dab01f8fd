"""Filters, one by one, and how a schedule applies them to local times."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tideflow.errors import ScheduleError
from tideflow.schedules import CronClock, IntervalClock, Schedule, filters

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 2026-03-02 is a Monday


def day(offset: int, hour: int = 12) -> datetime:
    """A time on MONDAY + offset days."""
    return MONDAY.replace(hour=hour) + timedelta(days=offset)


class TestDayFilters:
    def test_is_weekday_and_is_weekend(self) -> None:
        week = [day(i) for i in range(7)]
        assert [filters.is_weekday(d) for d in week] == [True] * 5 + [False] * 2
        assert [filters.is_weekend(d) for d in week] == [False] * 5 + [True] * 2

    def test_is_day_of_week_zero_is_monday_and_six_is_sunday(self) -> None:
        assert filters.is_day_of_week(0)(day(0))
        assert not filters.is_day_of_week(0)(day(6))
        assert filters.is_day_of_week(6)(day(6))
        assert [n for n in range(7) if filters.is_day_of_week(n)(day(2))] == [2]  # Wednesday

    @pytest.mark.parametrize("bad", [7, -1, True, "MON"])
    def test_is_day_of_week_range(self, bad: object) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"is_day_of_week: day .* is out of range 0-6 \(0 is Monday, 6 is Sunday\)",
        ):
            filters.is_day_of_week(bad)  # type: ignore[arg-type]

    def test_is_month_start_and_end(self) -> None:
        assert filters.is_month_start(datetime(2026, 3, 1, tzinfo=UTC))
        assert not filters.is_month_start(datetime(2026, 3, 2, tzinfo=UTC))
        assert filters.is_month_end(datetime(2026, 2, 28, tzinfo=UTC))
        assert not filters.is_month_end(datetime(2028, 2, 28, tzinfo=UTC))  # a leap year
        assert filters.is_month_end(datetime(2028, 2, 29, tzinfo=UTC))
        assert filters.is_month_end(datetime(2026, 4, 30, tzinfo=UTC))

    def test_on_date(self) -> None:
        christmas_eve = filters.on_date(12, 24)
        assert christmas_eve(datetime(2031, 12, 24, 18, tzinfo=UTC))
        assert not christmas_eve(datetime(2031, 12, 25, tzinfo=UTC))

    def test_between_dates_is_inclusive(self) -> None:
        march = filters.between_dates(3, 1, 3, 31)
        assert march(datetime(2026, 3, 1, tzinfo=UTC))
        assert march(datetime(2026, 3, 31, tzinfo=UTC))
        assert not march(datetime(2026, 4, 1, tzinfo=UTC))
        assert not march(datetime(2026, 2, 28, tzinfo=UTC))

    def test_between_dates_wraps_around_the_new_year(self) -> None:
        winter = filters.between_dates(12, 1, 1, 31)
        inside = [datetime(2026, 12, 1), datetime(2026, 12, 31), datetime(2027, 1, 15)]
        outside = [datetime(2026, 11, 30), datetime(2027, 2, 1), datetime(2026, 6, 1)]
        assert all(winter(d.replace(tzinfo=UTC)) for d in inside)
        assert not any(winter(d.replace(tzinfo=UTC)) for d in outside)

    @pytest.mark.parametrize(
        ("make", "message"),
        [
            (lambda: filters.on_date(2, 30), r"on_date: day 30 is out of range 1-29 for February"),
            (lambda: filters.on_date(13, 1), r"on_date: month 13 is out of range 1-12"),
            (
                lambda: filters.between_dates(4, 31, 5, 1),
                r"between_dates: day 31 is out of range 1-30 for April",
            ),
        ],
    )
    def test_impossible_dates_are_refused(self, make: object, message: str) -> None:
        with pytest.raises(ScheduleError, match=message):
            make()  # type: ignore[operator]

    def test_february_29_is_allowed(self) -> None:
        assert filters.on_date(2, 29)(datetime(2028, 2, 29, tzinfo=UTC))


class TestTimeFilters:
    def test_at_time(self) -> None:
        nine = filters.at_time(time(9, 0))
        assert nine(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
        assert not nine(datetime(2026, 1, 1, 9, 0, 1, tzinfo=UTC))

    def test_at_time_looks_at_the_local_time(self) -> None:
        assert filters.at_time(time(9))(datetime(2026, 1, 1, 9, tzinfo=BERLIN))
        assert not filters.at_time(time(9))(datetime(2026, 1, 1, 9, tzinfo=BERLIN).astimezone(UTC))

    def test_between_times_is_inclusive(self) -> None:
        office = filters.between_times(time(9), time(17))
        assert office(datetime(2026, 1, 1, 9, tzinfo=UTC))
        assert office(datetime(2026, 1, 1, 17, tzinfo=UTC))
        assert not office(datetime(2026, 1, 1, 17, 0, 1, tzinfo=UTC))
        assert not office(datetime(2026, 1, 1, 8, 59, tzinfo=UTC))

    def test_between_times_wraps_around_midnight(self) -> None:
        night = filters.between_times(time(22), time(6))
        hours = [h for h in range(24) if night(datetime(2026, 1, 1, h, tzinfo=UTC))]
        assert hours == [0, 1, 2, 3, 4, 5, 6, 22, 23]

    def test_times_must_be_naive(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"at_time: time 09:00:00\+00:00 must be naive: filters compare wall-clock times",
        ):
            filters.at_time(time(9, tzinfo=UTC))

    def test_times_must_be_times(self) -> None:
        with pytest.raises(ScheduleError, match=r"between_times: end must be a datetime.time"):
            filters.between_times(time(9), 17)  # type: ignore[arg-type]


class TestDatetimeFilters:
    def test_on_datetime_with_an_aware_datetime_matches_the_instant(self) -> None:
        noon = filters.on_datetime(datetime(2026, 1, 1, 12, tzinfo=UTC))
        assert noon(datetime(2026, 1, 1, 13, tzinfo=BERLIN))
        assert not noon(datetime(2026, 1, 1, 12, tzinfo=BERLIN))

    def test_on_datetime_with_a_naive_datetime_matches_the_local_time(self) -> None:
        noon = filters.on_datetime(datetime(2026, 1, 1, 12))
        assert noon(datetime(2026, 1, 1, 12, tzinfo=BERLIN))
        assert noon(datetime(2026, 1, 1, 12, tzinfo=UTC))

    def test_aware_datetimes_are_kept_in_utc(self) -> None:
        noon = filters.on_datetime(datetime(2026, 1, 1, 13, tzinfo=BERLIN))
        assert noon.dt == datetime(2026, 1, 1, 12, tzinfo=UTC)
        assert noon.dt.tzinfo is UTC

    def test_between_datetimes_is_inclusive(self) -> None:
        window = filters.between_datetimes(datetime(2026, 1, 1), datetime(2026, 1, 2))
        assert window(datetime(2026, 1, 1, tzinfo=UTC))
        assert window(datetime(2026, 1, 2, tzinfo=UTC))
        assert not window(datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC))

    def test_between_datetimes_end_before_start(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"between_datetimes: end 2026-01-01T00:00:00 is before start 2026-01-02T00:00:00",
        ):
            filters.between_datetimes(datetime(2026, 1, 2), datetime(2026, 1, 1))

    def test_between_datetimes_compares_aware_bounds_as_instants(self) -> None:
        east = timezone(timedelta(hours=5))
        with pytest.raises(ScheduleError, match="is before start"):
            filters.between_datetimes(
                datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 12, tzinfo=east)
            )

    def test_datetimes_must_be_datetimes(self) -> None:
        with pytest.raises(ScheduleError, match=r"on_datetime: dt: expected a datetime"):
            filters.on_datetime("2026-01-01")  # type: ignore[arg-type]


class TestInSchedules:
    def test_filters_see_the_local_time_in_the_clocks_zone(self) -> None:
        hourly = CronClock("0 * * * *", tz="Europe/Berlin")
        schedule = Schedule([hourly], filters=[filters.at_time(time(9))])
        assert [t.isoformat() for t in schedule.next(2, after=datetime(2026, 3, 28))] == [
            "2026-03-28T09:00:00+01:00",
            "2026-03-29T09:00:00+02:00",
        ]

    def test_weekday_filter_on_a_daily_clock(self) -> None:
        daily = IntervalClock(timedelta(days=1), datetime(2026, 3, 5, 9))  # Thursday
        schedule = Schedule([daily], filters=[filters.is_weekday])
        assert [t.strftime("%a %d") for t in schedule.next(4, after=datetime(2026, 3, 1))] == [
            "Thu 05",
            "Fri 06",
            "Mon 09",
            "Tue 10",
        ]


class TestRepr:
    @pytest.mark.parametrize(
        ("made", "text"),
        [
            (filters.is_weekday, "is_weekday"),
            (filters.is_month_end, "is_month_end"),
            (filters.is_day_of_week(0), "is_day_of_week(0)"),
            (filters.on_date(12, 24), "on_date(12, 24)"),
            (filters.between_dates(12, 1, 1, 31), "between_dates(12, 1, 1, 31)"),
            (filters.at_time(time(9, 30)), "at_time(time(9, 30))"),
            (
                filters.between_times(time(22), time(6, 0, 5)),
                "between_times(time(22, 0), time(6, 0, 5))",
            ),
            (
                filters.on_datetime(datetime(2026, 1, 1, 9)),
                "on_datetime(datetime(2026, 1, 1, 9, 0))",
            ),
            (
                filters.between_datetimes(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC)),
                "between_datetimes(datetime(2026, 1, 1, 0, 0), "
                "datetime.fromisoformat('2026-01-02T00:00:00+00:00'))",
            ),
        ],
    )
    def test_reprs_read_like_the_call_that_made_them(self, made: object, text: str) -> None:
        assert repr(made) == text

    def test_filters_are_equal_values(self) -> None:
        assert filters.on_date(1, 1) == filters.on_date(1, 1)
        assert filters.on_date(1, 1) != filters.on_date(1, 2)
        assert filters.is_weekday == filters.IsWeekday()
        assert filters.is_weekday != filters.is_weekend
