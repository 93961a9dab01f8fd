"""Schedule.next: merging clocks, de-duplication, filters, the scan limit, and the factories."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tideflow.errors import ScheduleError
from tideflow.schedules import (
    SCAN_LIMIT,
    ClockEvent,
    CronClock,
    CronSchedule,
    DatesClock,
    IntervalClock,
    IntervalSchedule,
    Schedule,
    adjustments,
    filters,
)

AFTER = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
BERLIN = ZoneInfo("Europe/Berlin")


def hhmm(times: list[datetime]) -> list[str]:
    return [t.strftime("%H:%M") for t in times]


class TestMerging:
    def test_clocks_are_merged_in_time_order(self) -> None:
        schedule = Schedule(
            [CronClock("0 */2 * * *"), IntervalClock(timedelta(hours=3), datetime(2026, 1, 1, 1))]
        )
        assert hhmm(schedule.next(6, after=AFTER)) == [
            "01:00",
            "02:00",
            "04:00",
            "06:00",
            "07:00",
            "08:00",
        ]

    def test_clocks_in_different_zones_merge_by_instant(self) -> None:
        schedule = Schedule(
            [CronClock("0 10 * * *", tz="Europe/Berlin"), CronClock("30 9 * * *", tz="UTC")]
        )
        assert [t.isoformat() for t in schedule.next(2, after=AFTER)] == [
            "2026-03-02T10:00:00+01:00",
            "2026-03-02T09:30:00+00:00",
        ]

    def test_clocks_firing_together_with_different_defaults_give_one_event_each(self) -> None:
        every_hour = IntervalClock(timedelta(hours=1), labels=["hourly"])
        every_two = CronClock("0 */2 * * *", labels=["cron"], parameter_defaults={"x": 2})
        first = Schedule([every_hour, every_two]).next(4, after=AFTER, return_events=True)
        assert [(e.start_time.hour, e.labels) for e in first] == [
            (1, ("hourly",)),
            (2, ("hourly",)),
            (2, ("cron",)),
            (3, ("hourly",)),
        ]
        swapped = Schedule([every_two, every_hour]).next(4, after=AFTER, return_events=True)
        assert [(e.start_time.hour, e.labels) for e in swapped] == [
            (1, ("hourly",)),
            (2, ("cron",)),
            (2, ("hourly",)),
            (3, ("hourly",)),
        ]

    def test_clocks_firing_together_with_the_same_defaults_give_one_event(self) -> None:
        hourly = IntervalClock(timedelta(hours=1), parameter_defaults={"x": 1})
        cron = CronClock("0 */2 * * *", parameter_defaults={"x": 1})
        times = Schedule([hourly, cron]).next(3, after=AFTER)
        assert [t.hour for t in times] == [1, 2, 3]

    def test_the_same_instant_in_two_zones_is_one_fire_time(self) -> None:
        schedule = Schedule(
            [CronClock("0 10 * * *", tz="Europe/Berlin"), CronClock("0 9 * * *", tz="UTC")]
        )
        assert len(schedule.next(4, after=AFTER)) == 4
        assert [t.day for t in schedule.next(4, after=AFTER)] == [2, 3, 4, 5]

    def test_return_events_gives_parameter_defaults_and_labels(self) -> None:
        clock = CronClock("0 9 * * *", parameter_defaults={"batch-size": 500}, labels=["eu"])
        (event,) = Schedule([clock]).next(1, after=AFTER, return_events=True)
        assert event == ClockEvent(
            datetime(2026, 3, 2, 9, tzinfo=UTC), {"batch-size": 500}, ("eu",)
        )

    def test_return_events_positionally(self) -> None:
        events = CronSchedule("0 9 * * *").next(1, AFTER, True)
        assert isinstance(events[0], ClockEvent)

    def test_fewer_times_when_the_clocks_end(self) -> None:
        schedule = Schedule([DatesClock([datetime(2026, 3, 3), datetime(2026, 3, 4)])])
        assert len(schedule.next(10, after=AFTER)) == 2
        assert schedule.next(10, after=datetime(2027, 1, 1)) == []


class TestFilterKinds:
    hourly = CronClock("0 * * * *")

    def test_all_filters_must_hold(self) -> None:
        schedule = Schedule(
            [self.hourly],
            filters=[filters.between_times(time(9), time(11)), filters.is_day_of_week(1)],
        )
        assert [t.strftime("%a %H") for t in schedule.next(4, after=AFTER)] == [
            "Tue 09",
            "Tue 10",
            "Tue 11",
            "Tue 09",
        ]

    def test_one_of_the_or_filters_must_hold(self) -> None:
        schedule = Schedule(
            [self.hourly], or_filters=[filters.at_time(time(9)), filters.at_time(time(17))]
        )
        assert hhmm(schedule.next(3, after=AFTER)) == ["09:00", "17:00", "09:00"]

    def test_no_not_filter_may_hold(self) -> None:
        schedule = Schedule(
            [CronClock("0 9 * * *")], not_filters=[filters.is_weekend, filters.on_date(3, 3)]
        )
        assert [t.day for t in schedule.next(6, after=AFTER)] == [2, 4, 5, 6, 9, 10]

    def test_the_kinds_combine(self) -> None:
        schedule = Schedule(
            [self.hourly],
            filters=[filters.is_weekday],
            or_filters=[filters.at_time(time(8)), filters.at_time(time(20))],
            not_filters=[filters.is_day_of_week(0)],
        )
        assert [t.strftime("%a %H") for t in schedule.next(3, after=AFTER)] == [
            "Tue 08",
            "Tue 20",
            "Wed 08",
        ]


class TestScanLimit:
    minutely = IntervalClock(timedelta(minutes=1))

    def test_a_filter_that_never_holds_gives_an_empty_answer(self) -> None:
        schedule = Schedule([self.minutely], filters=[filters.is_weekday, filters.is_weekend])
        assert schedule.next(1, after=AFTER) == []

    def test_a_match_after_fewer_than_the_limit_of_rejections_is_found(self) -> None:
        target = AFTER + timedelta(minutes=SCAN_LIMIT)  # SCAN_LIMIT - 1 rejections before it
        schedule = Schedule([self.minutely], filters=[filters.on_datetime(target)])
        assert schedule.next(1, after=AFTER) == [target]

    def test_the_scan_stops_after_the_limit_of_rejections_in_a_row(self) -> None:
        target = AFTER + timedelta(minutes=SCAN_LIMIT + 1)
        schedule = Schedule([self.minutely], filters=[filters.on_datetime(target)])
        assert schedule.next(1, after=AFTER) == []

    def test_the_limit_counts_rejections_in_a_row_not_in_total(self) -> None:
        # One hour a day passes: 500 times take 8+ days, over 11,000 rejections in total but
        # never more than 1,380 in a row.
        schedule = Schedule([self.minutely], filters=[filters.between_times(time(9), time(9, 59))])
        assert len(schedule.next(500, after=AFTER)) == 500


class TestNextArguments:
    schedule = CronSchedule("0 9 * * *", tz="Europe/Berlin")

    def test_a_naive_after_is_wall_clock_time_in_the_schedules_zone(self) -> None:
        assert self.schedule.next(1, after=datetime(2026, 3, 2, 8, 59)) == [
            datetime(2026, 3, 2, 9, tzinfo=BERLIN)
        ]
        assert self.schedule.next(1, after=datetime(2026, 3, 2, 9, 0)) == [
            datetime(2026, 3, 3, 9, tzinfo=BERLIN)
        ]

    def test_without_after_it_starts_from_now(self) -> None:
        assert len(self.schedule.next(1)) == 1

    def test_zero_times(self) -> None:
        assert self.schedule.next(0, after=AFTER) == []

    @pytest.mark.parametrize("n", [-1, 1.5, "3"])
    def test_n_must_be_a_count(self, n: object) -> None:
        with pytest.raises(
            ScheduleError, match=r"^n: expected a number of fire times \(0 or more\)"
        ):
            self.schedule.next(n, after=AFTER)  # type: ignore[call-overload]


class TestProperties:
    def test_tz_is_the_first_clocks_zone(self) -> None:
        schedule = Schedule([CronClock("0 9 * * *", tz="Asia/Tokyo"), CronClock("0 9 * * *")])
        assert schedule.tz == ZoneInfo("Asia/Tokyo")

    def test_start_and_end_dates(self) -> None:
        early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
        bounded = Schedule(
            [
                IntervalClock(timedelta(hours=1), early, datetime(2026, 2, 1)),
                CronClock("0 9 * * *", datetime(2026, 3, 1), late),
            ]
        )
        assert (bounded.start_date, bounded.end_date) == (early, late)
        open_ended = Schedule([IntervalClock(timedelta(hours=1), early, late), CronClock("@daily")])
        assert (open_ended.start_date, open_ended.end_date) == (None, None)


class TestConstruction:
    def test_no_clocks_is_an_empty_schedule_that_never_fires(self) -> None:
        empty = Schedule(clocks=[])
        assert empty.next(5, after=AFTER) == []
        assert empty.next(5) == []
        assert (empty.start_date, empty.end_date, empty.tz.key) == (None, None, "UTC")
        assert empty.describe() == "never (no clocks)"
        assert repr(empty) == "Schedule(clocks=[])"
        assert eval(repr(empty), {"Schedule": Schedule}) == empty
        assert Schedule.from_json(empty.to_json()) == empty

    def test_clocks_must_be_clocks(self) -> None:
        with pytest.raises(
            ScheduleError, match=r"^clocks\[0\]: expected a Clock such as IntervalClock"
        ):
            Schedule(["0 9 * * *"])  # type: ignore[list-item]

    def test_plain_functions_are_not_filters(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"^filters\[0\]: expected a Filter such as is_weekday, got <function .*>; plain "
            r"functions are not accepted because schedules must serialise",
        ):
            Schedule([CronClock("@daily")], filters=[lambda dt: True])  # type: ignore[list-item]

    def test_a_single_item_instead_of_a_list(self) -> None:
        with pytest.raises(ScheduleError, match=r"^adjustments: expected a list, got"):
            Schedule([CronClock("@daily")], adjustments="next_weekday")  # type: ignore[arg-type]

    def test_interval_schedule_needs_an_interval(self) -> None:
        with pytest.raises(ScheduleError, match=r"^interval: IntervalSchedule needs an interval"):
            IntervalSchedule()

    def test_interval_schedule_given_the_interval_first_explains_the_keyword(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"^start_date: expected a datetime, got timedelta\(seconds=60\); pass the "
            r"interval by keyword: IntervalSchedule\(interval=timedelta\(minutes=1\)\)",
        ):
            IntervalSchedule(timedelta(minutes=1))  # type: ignore[arg-type]

    def test_interval_schedule_positional_arguments_follow_prefect(self) -> None:
        start, end = datetime(2026, 1, 1), datetime(2026, 1, 2)
        schedule = IntervalSchedule(start, timedelta(hours=12), end, "Europe/Berlin")
        assert schedule == Schedule(
            [IntervalClock(timedelta(hours=12), start, end, tz="Europe/Berlin")]
        )

    def test_cron_schedule_positional_arguments_follow_prefect(self) -> None:
        start = datetime(2026, 1, 1)
        assert CronSchedule("0 0 13 * FRI", start, None, False) == Schedule(
            [CronClock("0 0 13 * FRI", start, day_or=False)]
        )


class TestDescribe:
    def test_factories(self) -> None:
        assert IntervalSchedule(interval=timedelta(minutes=5)).describe() == "every 5 minutes"
        assert IntervalSchedule(interval=timedelta(seconds=90)).describe() == "every 90 seconds"
        daily = IntervalSchedule(datetime(2026, 1, 1, 9), timedelta(days=1), tz="Europe/Berlin")
        assert daily.describe() == "every day at 09:00 (Europe/Berlin), from 2026-01-01 09:00"
        assert CronSchedule("0 9 * * 1-5", tz="Europe/Berlin").describe() == (
            "at 09:00 on Monday through Friday, Europe/Berlin"
        )

    def test_several_clocks_filters_and_adjustments(self) -> None:
        schedule = Schedule(
            [IntervalClock(timedelta(hours=1)), CronClock("30 9 * * *")],
            filters=[filters.is_weekday, filters.between_times(time(9), time(17))],
            or_filters=[filters.on_date(1, 2), filters.is_month_start],
            not_filters=[filters.on_date(12, 25)],
            adjustments=[adjustments.add(timedelta(minutes=5))],
        )
        assert schedule.describe() == (
            "every hour; at 09:30 every day, only on weekdays and between 09:00:00 and 17:00:00, "
            "only on January 2 or on the first day of the month, except on December 25, "
            "then moved 5 minutes later"
        )


class TestRepr:
    @pytest.mark.parametrize(
        ("schedule", "text"),
        [
            (
                IntervalSchedule(interval=timedelta(minutes=5)),
                "IntervalSchedule(interval=timedelta(seconds=300))",
            ),
            (
                CronSchedule("*/5 * * * *", tz="Europe/Berlin"),
                "CronSchedule('*/5 * * * *', tz='Europe/Berlin')",
            ),
            (
                IntervalSchedule(datetime(2026, 1, 1, 9), timedelta(days=1), tz="Europe/Berlin"),
                "IntervalSchedule(start_date=datetime(2026, 1, 1, 9, 0), "
                "interval=timedelta(seconds=86400), tz='Europe/Berlin')",
            ),
            (
                CronSchedule("0 0 13 * FRI", end_date=datetime(2027, 1, 1), day_or=False),
                "CronSchedule('0 0 13 * FRI', end_date=datetime(2027, 1, 1, 0, 0), day_or=False)",
            ),
            (
                Schedule([CronClock("@daily", labels=["a"])], filters=[filters.is_weekday]),
                "Schedule(clocks=[CronClock('@daily', labels=['a'])], filters=[is_weekday])",
            ),
        ],
    )
    def test_reprs_read_like_the_call_that_builds_the_schedule(
        self, schedule: Schedule, text: str
    ) -> None:
        assert repr(schedule) == text
