"""Cron expressions: aliases, validation messages, day_or, cronsim's extensions, explanations."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tideflow.errors import ScheduleError, TideflowError
from tideflow.schedules import CronClock, CronSchedule, Schedule
from tideflow.schedules.cron import ALIASES, normalize

AFTER = datetime(2026, 1, 1, tzinfo=UTC)


def fire_times(source: Schedule | CronClock, n: int, after: datetime = AFTER) -> list[str]:
    """The next n fire times as ISO text, of a schedule or of a clock alone."""
    if isinstance(source, CronClock):
        events = source.events(after)
        return [next(events).start_time.isoformat() for _ in range(n)]
    return [t.isoformat() for t in source.next(n, after=after)]


class TestAliases:
    @pytest.mark.parametrize(
        ("alias", "expression"),
        [
            ("@hourly", "0 * * * *"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@weekly", "0 0 * * 0"),
            ("@monthly", "0 0 1 * *"),
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
        ],
    )
    def test_each_alias_fires_like_its_expression(self, alias: str, expression: str) -> None:
        assert normalize(alias) == expression
        assert fire_times(CronSchedule(alias), 3) == fire_times(CronSchedule(expression), 3)

    def test_aliases_are_case_insensitive_and_keep_their_text(self) -> None:
        schedule = CronSchedule("@DAILY")
        assert schedule.clocks[0].cron == "@DAILY"  # type: ignore[attr-defined]
        assert fire_times(schedule, 1) == ["2026-01-02T00:00:00+00:00"]

    def test_weekly_runs_on_sunday_midnight(self) -> None:
        assert fire_times(CronSchedule("@weekly"), 1) == ["2026-01-04T00:00:00+00:00"]

    def test_all_documented_aliases_are_known(self) -> None:
        assert set(ALIASES) == {
            "@hourly",
            "@daily",
            "@midnight",
            "@weekly",
            "@monthly",
            "@yearly",
            "@annually",
        }


class TestNormalize:
    def test_names_are_case_insensitive_and_whitespace_is_collapsed(self) -> None:
        assert normalize("  */15   9-17 * jan-mar mon-fri ") == "*/15 9-17 * JAN-MAR MON-FRI"

    def test_names_fire_like_numbers(self) -> None:
        assert fire_times(CronSchedule("0 9 * FEB MON"), 3) == fire_times(
            CronSchedule("0 9 * 2 1"), 3
        )

    def test_sunday_is_zero_and_seven(self) -> None:
        assert fire_times(CronSchedule("0 0 * * 7"), 2) == fire_times(CronSchedule("0 0 * * 0"), 2)


class TestValidation:
    """Every message names the field, the offending token and what is allowed."""

    @pytest.mark.parametrize(
        ("cron", "message"),
        [
            ("61 * * * *", r"minute field: value '61' is out of range 0-59"),
            ("* 24 * * *", r"hour field: value '24' is out of range 0-23"),
            ("* * 0 * *", r"day-of-month field: value '0' is out of range 1-31"),
            ("* * 32 * *", r"day-of-month field: value '32' is out of range 1-31"),
            ("* * * 13 *", r"month field: value '13' is out of range 1-12 or JAN-DEC"),
            ("* * * 0 *", r"month field: value '0' is out of range 1-12 or JAN-DEC"),
            (
                "* * * * 8",
                r"day-of-week field: value '8' is out of range 0-7 \(0 and 7 are Sunday\) "
                r"or SUN-SAT",
            ),
        ],
    )
    def test_a_value_out_of_range_in_every_position(self, cron: str, message: str) -> None:
        with pytest.raises(ScheduleError, match=rf"^invalid cron expression '{re.escape(cron)}': "):
            CronSchedule(cron)
        with pytest.raises(ScheduleError, match=message):
            CronSchedule(cron)

    @pytest.mark.parametrize(
        ("cron", "message"),
        [
            ("x * * * *", r"minute field: 'X' is not a valid value; use 0-59"),
            ("* MON * * *", r"hour field: 'MON' is not a valid value; use 0-23"),
            ("* * ? * *", r"day-of-month field: '\?' is not a valid value; use 1-31"),
            ("* * * FOO *", r"month field: 'FOO' is not a valid value; use 1-12 or JAN-DEC"),
            ("* * * * JAN", r"day-of-week field: 'JAN' is not a valid value; use 0-7"),
            ("-1 * * * *", r"minute field: '' is not a valid value; use 0-59"),
            ("1.5 * * * *", r"minute field: '1.5' is not a valid value"),
        ],
    )
    def test_a_token_that_is_not_a_value_in_every_position(self, cron: str, message: str) -> None:
        with pytest.raises(ScheduleError, match=message):
            CronSchedule(cron)

    @pytest.mark.parametrize(
        ("cron", "message"),
        [
            ("*/0 * * * *", r"minute field: step '0' in '\*/0' is out of range 1-59"),
            ("* 1-5/x * * *", r"hour field: step 'X' in '1-5/X' is out of range 1-23$"),
            ("* * */32 * *", r"day-of-month field: step '32' in '\*/32' is out of range 1-31"),
            ("* * * */13 *", r"month field: step '13' in '\*/13' is out of range 1-12"),
            ("* * * * */8", r"day-of-week field: step '8' in '\*/8' is out of range 1-7"),
        ],
    )
    def test_a_bad_step_in_every_position(self, cron: str, message: str) -> None:
        with pytest.raises(ScheduleError, match=message):
            CronSchedule(cron)

    def test_a_step_longer_than_the_field_suggests_an_interval_schedule(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"minute field: step '90' in '\*/90' is out of range 1-59; cron steps restart "
            r"every hour or day: use an IntervalSchedule for longer intervals",
        ):
            CronSchedule("*/90 * * * *")

    @pytest.mark.parametrize(
        ("cron", "message"),
        [
            ("30-10 * * * *", r"minute field: range '30-10' runs backwards.*'30-59,0-10'"),
            ("* 22-2 * * *", r"hour field: range '22-2' runs backwards.*'22-23,0-2'"),
            ("* * 20-10 * *", r"day-of-month field: range '20-10' runs backwards.*'20-31,1-10'"),
            ("* * * NOV-FEB *", r"month field: range 'NOV-FEB' runs backwards.*'NOV-DEC,JAN-FEB'"),
            ("* * * * FRI-MON", r"day-of-week field: range 'FRI-MON' runs backwards.*"),
        ],
    )
    def test_a_backwards_range_suggests_a_list_in_every_position(
        self, cron: str, message: str
    ) -> None:
        with pytest.raises(ScheduleError, match=message):
            CronSchedule(cron)

    def test_the_suggested_list_for_a_backwards_range_is_valid(self) -> None:
        assert fire_times(CronSchedule("0 22-23,0-2 * * *"), 5) == [
            "2026-01-01T01:00:00+00:00",
            "2026-01-01T02:00:00+00:00",
            "2026-01-01T22:00:00+00:00",
            "2026-01-01T23:00:00+00:00",
            "2026-01-02T00:00:00+00:00",
        ]

    @pytest.mark.parametrize(
        ("cron", "message"),
        [
            ("1,,2 * * * *", r"minute field: empty item in list '1,,2'"),
            ("* * L/2 * *", r"day-of-month field: 'L/2': L, LW and # cannot take a step"),
            ("* * * * MON#6", r"day-of-week field: 'MON#6': the week number after '#' must be 1-5"),
            ("* * * * 9L", r"day-of-week field: value '9' is out of range 0-7"),
            ("* * * * XYZ#2", r"day-of-week field: 'XYZ' is not a valid value"),
        ],
    )
    def test_lists_and_cronsim_extensions_are_checked(self, cron: str, message: str) -> None:
        with pytest.raises(ScheduleError, match=message):
            CronSchedule(cron)

    @pytest.mark.parametrize(
        ("cron", "count"), [("* * * *", 4), ("0 * * * * *", 6), ("", 0), ("   ", 0)]
    )
    def test_the_wrong_number_of_fields(self, cron: str, count: int) -> None:
        with pytest.raises(
            ScheduleError,
            match=rf"invalid cron expression '{re.escape(cron)}': expected 5 fields \(minute hour "
            rf"day-of-month month day-of-week\) or an alias such as @daily, got {count}$",
        ):
            CronSchedule(cron)

    @pytest.mark.parametrize("alias", ["@fortnightly", "@reboot", "@", "@ daily"])
    def test_an_unknown_alias(self, alias: str) -> None:
        with pytest.raises(
            ScheduleError,
            match=rf"invalid cron expression '{alias}': unknown alias '{alias}'; use one of "
            r"@hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually",
        ):
            CronSchedule(alias)

    def test_a_day_that_never_occurs_in_the_chosen_months_is_reported_by_field(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"invalid cron expression '0 0 30 2 \*': day-of-month field: day '30' never "
            r"occurs in the months of the month field '2'",
        ):
            CronSchedule("0 0 30 2 *")

    def test_with_day_or_false_the_day_of_month_alone_must_be_possible(self) -> None:
        CronSchedule("0 0 31 4 MON")  # "or": every Monday in April fires
        with pytest.raises(ScheduleError, match=r"day '31' never occurs .* month field '4'"):
            CronSchedule("0 0 31 4 MON", day_or=False)

    def test_a_cron_that_is_not_text(self) -> None:
        with pytest.raises(
            ScheduleError,
            match=r"cron: expected a string such as '\*/5 \* \* \* \*', got 5 \(int\)",
        ):
            CronSchedule(5)  # type: ignore[arg-type]

    def test_errors_are_value_errors_and_tideflow_errors(self) -> None:
        with pytest.raises(ValueError, match="minute field") as caught:
            CronSchedule("61 * * * *")
        assert isinstance(caught.value, TideflowError)


class TestDayOr:
    # January-March 2026: Fridays are the 2nd, 9th, 16th, ...; Friday the 13th is Feb and Mar.
    def test_by_default_either_day_field_may_match(self) -> None:
        assert fire_times(CronSchedule("0 0 13 * FRI"), 4) == [
            "2026-01-02T00:00:00+00:00",
            "2026-01-09T00:00:00+00:00",
            "2026-01-13T00:00:00+00:00",
            "2026-01-16T00:00:00+00:00",
        ]

    def test_day_or_false_requires_both_day_fields(self) -> None:
        assert fire_times(CronSchedule("0 0 13 * FRI", day_or=False), 4) == [
            "2026-02-13T00:00:00+00:00",
            "2026-03-13T00:00:00+00:00",
            "2026-11-13T00:00:00+00:00",
            "2027-08-13T00:00:00+00:00",
        ]

    def test_day_or_false_with_ranges_gives_the_first_monday_of_each_month(self) -> None:
        assert fire_times(CronSchedule("0 9 1-7 * MON", day_or=False), 3) == [
            "2026-01-05T09:00:00+00:00",
            "2026-02-02T09:00:00+00:00",
            "2026-03-02T09:00:00+00:00",
        ]

    def test_a_day_field_starting_with_a_star_always_means_both_as_in_debian_cron(self) -> None:
        # Debian cron (and cronsim) AND the day fields when either starts with '*', even '*/2'.
        both = ["2026-01-05T00:00:00+00:00", "2026-01-19T00:00:00+00:00"]
        assert fire_times(CronSchedule("0 0 */2 * MON"), 2) == both
        assert fire_times(CronSchedule("0 0 */2 * MON", day_or=False), 2) == both

    def test_day_or_none_means_or_as_in_prefect(self) -> None:
        assert CronSchedule("0 0 13 * FRI", day_or=None) == CronSchedule("0 0 13 * FRI")

    def test_an_and_expression_that_never_matches_gives_up_instead_of_hanging(self) -> None:
        # January 1st is never the fifth Monday of January.
        assert CronSchedule("0 0 1 1 MON#5", day_or=False).next(1, after=AFTER) == []


class TestCronsimExtensions:
    def test_last_day_of_month(self) -> None:
        assert fire_times(CronSchedule("0 0 L * *"), 3) == [
            "2026-01-31T00:00:00+00:00",
            "2026-02-28T00:00:00+00:00",
            "2026-03-31T00:00:00+00:00",
        ]

    def test_last_weekday_of_month_and_last_friday_and_second_monday(self) -> None:
        assert fire_times(CronSchedule("0 0 LW * *"), 1) == ["2026-01-30T00:00:00+00:00"]
        assert fire_times(CronSchedule("0 0 * * 5L"), 1) == ["2026-01-30T00:00:00+00:00"]
        assert fire_times(CronSchedule("0 0 * * MON#2"), 1) == ["2026-01-12T00:00:00+00:00"]


class TestCronsimWorkarounds:
    def test_a_stepped_range_of_one_value_is_that_value(self) -> None:
        # cronsim alone reads "1-1/2" as "1/2" (Monday to Sunday); cron means just Monday.
        assert normalize("0 0 * * 1-1/2") == "0 0 * * 1"
        assert fire_times(CronSchedule("0 0 * * 1-1/2"), 2) == [
            "2026-01-05T00:00:00+00:00",
            "2026-01-12T00:00:00+00:00",
        ]

    def test_other_stepped_ranges_are_left_alone(self) -> None:
        assert normalize("5-9/2,3-3/1 * * JAN-JAN/2 *") == "5-9/2,3 * * JAN *"

    def test_fire_times_end_with_the_calendar_in_year_9999(self) -> None:
        # cronsim raises OverflowError when it runs past 9999-12-31.
        either = CronSchedule("0 0 13 * FRI")
        assert [t.day for t in either.next(10, after=datetime(9999, 12, 1))] == [
            3,
            10,
            13,
            17,
            24,
            31,
        ]
        both = CronSchedule("0 0 13 * FRI", day_or=False)  # 9999-12-13 is a Monday
        assert both.next(1, after=datetime(9999, 11, 1)) == []


class TestBounds:
    def test_start_date_is_inclusive(self) -> None:
        clock = CronClock("0 9 * * *", start_date=datetime(2026, 3, 2, 9, 0))
        assert fire_times(clock, 2) == ["2026-03-02T09:00:00+00:00", "2026-03-03T09:00:00+00:00"]

    def test_start_date_between_fire_times(self) -> None:
        clock = CronClock("0 9 * * *", start_date=datetime(2026, 3, 2, 9, 0, 0, 1))
        assert fire_times(clock, 1) == ["2026-03-03T09:00:00+00:00"]

    def test_end_date_is_inclusive(self) -> None:
        schedule = CronSchedule("0 9 * * *", end_date=datetime(2026, 1, 3, 9, 0))
        assert fire_times(schedule, 5) == [
            "2026-01-01T09:00:00+00:00",
            "2026-01-02T09:00:00+00:00",
            "2026-01-03T09:00:00+00:00",
        ]


class TestDescribe:
    def test_weekday_mornings_in_berlin(self) -> None:
        schedule = CronSchedule("0 9 * * MON-FRI", tz="Europe/Berlin")
        assert schedule.describe() == "at 09:00 on Monday through Friday, Europe/Berlin"

    def test_utc_is_not_named(self) -> None:
        assert CronSchedule("*/15 9-17 * * *").describe() == (
            "every 15th minute from 09:00 through 17:59"
        )

    def test_aliases_are_explained_by_their_expression(self) -> None:
        assert CronSchedule("@daily").describe() == "at 00:00 every day"

    def test_day_or_false_is_explained_as_a_condition(self) -> None:
        assert CronSchedule("0 0 13 * FRI", day_or=False).describe() == (
            "at 00:00 on the 13th day of month if it's on Friday"
        )
        assert CronSchedule("0 0 13 * FRI").describe() == (
            "at 00:00 on the 13th day of month and on Friday"
        )

    def test_start_and_end_are_mentioned(self) -> None:
        schedule = CronSchedule(
            "0 9 * * *", datetime(2026, 1, 1), datetime(2026, 2, 1), tz="Europe/Berlin"
        )
        assert schedule.describe() == (
            "at 09:00 every day, Europe/Berlin, from 2026-01-01 00:00, until 2026-02-01 00:00"
        )
