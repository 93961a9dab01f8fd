"""Adjustments, one by one, and in schedules (lookback, re-sorting, de-duplication)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tideflow.errors import ScheduleError
from tideflow.schedules import CronClock, IntervalClock, Schedule, adjustments, filters

BERLIN = ZoneInfo("Europe/Berlin")


class TestAdd:
    def test_add_moves_by_a_duration(self) -> None:
        later = adjustments.add(timedelta(minutes=10))
        assert later(datetime(2026, 1, 1, 9, tzinfo=UTC)) == datetime(2026, 1, 1, 9, 10, tzinfo=UTC)
        earlier = adjustments.add(timedelta(hours=-1))
        assert earlier(datetime(2026, 1, 1, 9, tzinfo=UTC)) == datetime(2026, 1, 1, 8, tzinfo=UTC)

    def test_sub_day_amounts_are_absolute_time_across_dst(self) -> None:
        # Europe/Berlin springs forward at 2026-03-29 01:00 UTC (02:00 CET -> 03:00 CEST).
        moved = adjustments.add(timedelta(hours=2))(datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN))
        assert moved.isoformat() == "2026-03-29T04:00:00+02:00"

    def test_whole_days_keep_the_wall_clock_time_across_dst(self) -> None:
        moved = adjustments.add(timedelta(days=1))(datetime(2026, 3, 28, 9, 0, tzinfo=BERLIN))
        assert moved.isoformat() == "2026-03-29T09:00:00+02:00"

    def test_whole_days_landing_in_a_gap_move_to_the_end_of_the_gap(self) -> None:
        # Europe/Berlin skips 02:00-02:59 on 2026-03-29 (01:00 UTC: 02:00 CET -> 03:00 CEST).
        moved = adjustments.add(timedelta(days=1))(datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN))
        assert moved.isoformat() == "2026-03-29T03:00:00+02:00"

    def test_add_needs_a_timedelta(self) -> None:
        with pytest.raises(
            ScheduleError, match=r"add: expected a datetime.timedelta .*, got 60 \(int\)"
        ):
            adjustments.add(60)  # type: ignore[arg-type]

    def test_describe_and_repr(self) -> None:
        assert adjustments.add(timedelta(minutes=10)).describe() == "moved 10 minutes later"
        assert adjustments.add(timedelta(hours=-1)).describe() == "moved 1 hour earlier"
        assert repr(adjustments.add(timedelta(minutes=10))) == "add(timedelta(seconds=600))"


class TestNextWeekday:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            (datetime(2026, 3, 6, 9, 30), datetime(2026, 3, 6, 9, 30)),  # Friday stays
            (datetime(2026, 3, 7, 9, 30), datetime(2026, 3, 9, 9, 30)),  # Saturday -> Monday
            (datetime(2026, 3, 8, 23, 59), datetime(2026, 3, 9, 23, 59)),  # Sunday -> Monday
        ],
    )
    def test_weekend_times_move_to_monday_at_the_same_time(
        self, given: datetime, expected: datetime
    ) -> None:
        moved = adjustments.next_weekday(given.replace(tzinfo=UTC))
        assert moved == expected.replace(tzinfo=UTC)

    def test_it_keeps_the_wall_clock_time_across_dst(self) -> None:
        # Sunday 2026-03-29 is Berlin's spring-forward day; Saturday 09:00 CET -> Monday 09:00 CEST.
        moved = adjustments.next_weekday(datetime(2026, 3, 28, 9, tzinfo=BERLIN))
        assert moved.isoformat() == "2026-03-30T09:00:00+02:00"

    def test_repr_and_describe(self) -> None:
        assert repr(adjustments.next_weekday) == "next_weekday"
        assert adjustments.next_weekday.describe() == "moved to the next weekday"


class TestInSchedules:
    def test_weekend_days_collapse_into_one_monday_run(self) -> None:
        # Prefect 1 returned the Monday three times (from Saturday, Sunday and Monday itself).
        daily = IntervalClock(timedelta(days=1), datetime(2026, 3, 5, 9))  # Thursday
        schedule = Schedule([daily], adjustments=[adjustments.next_weekday])
        assert [
            t.strftime("%a %d %H:%M") for t in schedule.next(4, after=datetime(2026, 3, 5))
        ] == [
            "Thu 05 09:00",
            "Fri 06 09:00",
            "Mon 09 09:00",
            "Tue 10 09:00",
        ]

    def test_moved_events_are_returned_in_time_order(self) -> None:
        # Clock: Sat 05:00, Sat 14:00, Sat 23:00, Sun 08:00, Sun 17:00, Mon 02:00, Mon 11:00, ...
        # Moved to Monday, Saturday 23:00 lands after Sunday 08:00 and Monday 02:00.
        clock = IntervalClock(timedelta(hours=9), datetime(2026, 3, 7, 5))
        schedule = Schedule([clock], adjustments=[adjustments.next_weekday])
        found = schedule.next(8, after=datetime(2026, 3, 7))
        assert [t.strftime("%a %H:%M") for t in found] == [
            "Mon 02:00",
            "Mon 05:00",
            "Mon 08:00",
            "Mon 11:00",
            "Mon 14:00",
            "Mon 17:00",
            "Mon 20:00",
            "Mon 23:00",
        ]

    def test_events_moved_past_after_are_found(self) -> None:
        # The clock's 10:00 event becomes 10:30, which is after 10:15.
        schedule = Schedule(
            [IntervalClock(timedelta(hours=1))],
            adjustments=[adjustments.add(timedelta(minutes=30))],
        )
        assert schedule.next(2, after=datetime(2026, 1, 1, 10, 15)) == [
            datetime(2026, 1, 1, 10, 30, tzinfo=UTC),
            datetime(2026, 1, 1, 11, 30, tzinfo=UTC),
        ]

    def test_events_moved_before_after_are_dropped(self) -> None:
        schedule = Schedule(
            [IntervalClock(timedelta(hours=1))], adjustments=[adjustments.add(timedelta(hours=-2))]
        )
        assert schedule.next(1, after=datetime(2026, 1, 1, 10, 0)) == [
            datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
        ]

    def test_filters_look_at_the_time_before_adjustments(self) -> None:
        schedule = Schedule(
            [CronClock("0 9 * * *")],
            filters=[filters.is_weekend],
            adjustments=[adjustments.next_weekday],
        )
        assert [t.strftime("%a %d") for t in schedule.next(2, after=datetime(2026, 3, 3))] == [
            "Mon 09",
            "Mon 16",
        ]

    def test_a_weekend_event_moved_past_after_is_found_by_looking_back(self) -> None:
        # Saturday 2026-02-28 09:00 moves to Monday 2026-03-02 09:00, after Monday 00:00.
        schedule = Schedule([CronClock("0 9 * * SAT")], adjustments=[adjustments.next_weekday])
        assert schedule.next(1, after=datetime(2026, 3, 2)) == [datetime(2026, 3, 2, 9, tzinfo=UTC)]

    def test_adjustments_apply_in_order(self) -> None:
        # Friday 20:00 + 5 hours is Saturday 01:00, which then moves to Monday 01:00.
        clock = CronClock("0 20 * * FRI")
        first = Schedule(
            [clock], adjustments=[adjustments.add(timedelta(hours=5)), adjustments.next_weekday]
        )
        second = Schedule(
            [clock], adjustments=[adjustments.next_weekday, adjustments.add(timedelta(hours=5))]
        )
        after = datetime(2026, 3, 2)
        assert first.next(1, after=after)[0].strftime("%a %H:%M") == "Mon 01:00"
        assert second.next(1, after=after)[0].strftime("%a %H:%M") == "Sat 01:00"

    def test_events_keep_their_parameters_when_moved(self) -> None:
        clock = CronClock("0 9 * * SAT", parameter_defaults={"x": 1}, labels=["weekend"])
        schedule = Schedule([clock], adjustments=[adjustments.next_weekday])
        (event,) = schedule.next(1, after=datetime(2026, 3, 3), return_events=True)
        assert event.start_time == datetime(2026, 3, 9, 9, tzinfo=UTC)
        assert (event.parameter_defaults, event.labels) == ({"x": 1}, ("weekend",))


class TestBounds:
    def test_bounds_state_how_far_an_adjustment_moves_a_time(self) -> None:
        assert adjustments.add(timedelta(minutes=5)).bounds() == (
            timedelta(minutes=5),
            timedelta(minutes=5),
        )
        low, high = adjustments.add(timedelta(days=1)).bounds()
        assert low <= timedelta(hours=22)
        assert high >= timedelta(hours=26)
        low, high = adjustments.next_weekday.bounds()
        assert low == timedelta(0)
        assert high >= timedelta(days=2, hours=2)
