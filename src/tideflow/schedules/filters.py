"""Filters: yes/no questions about a clock event's time, to keep or drop it.

A filter is called with an event's start time, an aware datetime in its clock's zone, and looks at
the **local** wall-clock fields there (weekday, date, time of day). Each is a small frozen
dataclass, so schedules compare equal and serialise; the ready-made ones are module-level
instances and the others are built by lower-case factory functions, as in Prefect 1::

    from tideflow.schedules import Schedule, IntervalClock, filters

    Schedule(
        clocks=[IntervalClock(timedelta(hours=1))],
        filters=[filters.is_weekday, filters.between_times(time(9), time(17))],
    )

Days of the week count like Python's ``datetime.weekday()``: **0 is Monday, 6 is Sunday**
(Prefect 1's documentation said 0 was Sunday, but its code used Monday; so does Tideflow).

All ranges include both ends. ``between_dates`` and ``between_times`` wrap around: from
December 1 to January 31 covers the turn of the year, from 22:00 to 06:00 covers midnight.
Naive datetimes given to ``on_datetime`` and ``between_datetimes`` are wall-clock times in each
event's zone; aware ones are instants.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from tideflow.errors import ScheduleError
from tideflow.schedules import codec
from tideflow.schedules.base import Filter
from tideflow.schedules.time_filters import (
    AtTime,
    BetweenDatetimes,
    BetweenTimes,
    OnDatetime,
    in_range,
)
from tideflow.schedules.zones import plain

__all__ = [
    "AtTime",
    "BetweenDates",
    "BetweenDatetimes",
    "BetweenTimes",
    "Filter",
    "IsDayOfWeek",
    "IsMonthEnd",
    "IsMonthStart",
    "IsWeekday",
    "IsWeekend",
    "OnDate",
    "OnDatetime",
    "at_time",
    "between_dates",
    "between_datetimes",
    "between_times",
    "filter_from_dict",
    "is_day_of_week",
    "is_month_end",
    "is_month_start",
    "is_weekday",
    "is_weekend",
    "on_date",
    "on_datetime",
]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# ----------------------------------------------------------------------------- ready-made filters


@dataclass(frozen=True, repr=False)
class _Named(Filter):
    """A filter without arguments, available as a module-level instance such as ``is_weekday``."""

    def __repr__(self) -> str:
        return self.type_name


@dataclass(frozen=True, repr=False)
class IsWeekday(_Named):
    """Monday to Friday."""

    type_name = "is_weekday"

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return dt.weekday() < 5

    def describe(self) -> str:
        return "on weekdays"


@dataclass(frozen=True, repr=False)
class IsWeekend(_Named):
    """Saturday and Sunday."""

    type_name = "is_weekend"

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return dt.weekday() >= 5

    def describe(self) -> str:
        return "on weekends"


@dataclass(frozen=True, repr=False)
class IsMonthStart(_Named):
    """The first day of a month."""

    type_name = "is_month_start"

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return dt.day == 1

    def describe(self) -> str:
        return "on the first day of the month"


@dataclass(frozen=True, repr=False)
class IsMonthEnd(_Named):
    """The last day of a month (28th to 31st, leap years included)."""

    type_name = "is_month_end"

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return dt.day == calendar.monthrange(dt.year, dt.month)[1]

    def describe(self) -> str:
        return "on the last day of the month"


is_weekday = IsWeekday()
is_weekend = IsWeekend()
is_month_start = IsMonthStart()
is_month_end = IsMonthEnd()


# ------------------------------------------------------------------------ filters with arguments


@dataclass(frozen=True, repr=False)
class IsDayOfWeek(Filter):
    """One day of the week, **0 = Monday** ... 6 = Sunday (Python's ``weekday()``)."""

    day: int
    type_name = "is_day_of_week"

    def __post_init__(self) -> None:
        if isinstance(self.day, bool) or not isinstance(self.day, int) or not 0 <= self.day <= 6:
            raise ScheduleError(
                f"is_day_of_week: day {self.day!r} is out of range 0-6 (0 is Monday, 6 is Sunday)"
            )

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return dt.weekday() == self.day

    def describe(self) -> str:
        return f"on {_WEEKDAYS[self.day]}s"

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"day": self.day}

    def __repr__(self) -> str:
        return f"is_day_of_week({self.day})"


@dataclass(frozen=True, repr=False)
class OnDate(Filter):
    """One calendar day every year, e.g. ``on_date(12, 24)``."""

    month: int
    day: int
    type_name = "on_date"

    def __post_init__(self) -> None:
        _check_month_day("on_date", self.month, self.day)

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return (dt.month, dt.day) == (self.month, self.day)

    def describe(self) -> str:
        return f"on {_month_day(self.month, self.day)}"

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"month": self.month, "day": self.day}

    def __repr__(self) -> str:
        return f"on_date({self.month}, {self.day})"


@dataclass(frozen=True, repr=False)
class BetweenDates(Filter):
    """Calendar days from (start_month, start_day) to (end_month, end_day), wrapping at new year."""

    start_month: int
    start_day: int
    end_month: int
    end_day: int
    type_name = "between_dates"

    def __post_init__(self) -> None:
        _check_month_day("between_dates", self.start_month, self.start_day)
        _check_month_day("between_dates", self.end_month, self.end_day)

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        start, end = (self.start_month, self.start_day), (self.end_month, self.end_day)
        return in_range(start, (dt.month, dt.day), end)

    def describe(self) -> str:
        start = _month_day(self.start_month, self.start_day)
        return f"between {start} and {_month_day(self.end_month, self.end_day)}"

    def to_dict(self) -> dict[str, Any]:
        fields = ("start_month", "start_day", "end_month", "end_day")
        return super().to_dict() | {name: getattr(self, name) for name in fields}

    def __repr__(self) -> str:
        numbers = (self.start_month, self.start_day, self.end_month, self.end_day)
        return f"between_dates({', '.join(str(n) for n in numbers)})"


def is_day_of_week(day: int) -> IsDayOfWeek:
    """Events on one day of the week: **0 = Monday**, 1 = Tuesday, ..., 6 = Sunday."""
    return IsDayOfWeek(day)


def on_date(month: int, day: int) -> OnDate:
    """Events on one calendar day every year, e.g. ``on_date(12, 24)``."""
    return OnDate(month, day)


def between_dates(start_month: int, start_day: int, end_month: int, end_day: int) -> BetweenDates:
    """Events on calendar days in a range (inclusive); ``(12, 1, 1, 31)`` spans new year."""
    return BetweenDates(start_month, start_day, end_month, end_day)


def at_time(t: time) -> AtTime:
    """Events at exactly this wall-clock time of day (naive ``time``)."""
    return AtTime(t)


def between_times(start: time, end: time) -> BetweenTimes:
    """Events at wall-clock times in a range (inclusive); ``(time(22), time(6))`` spans midnight."""
    return BetweenTimes(start, end)


def on_datetime(dt: datetime) -> OnDatetime:
    """Events at exactly this datetime."""
    return OnDatetime(dt)


def between_datetimes(start: datetime, end: datetime) -> BetweenDatetimes:
    """Events from ``start`` to ``end`` (inclusive)."""
    return BetweenDatetimes(start, end)


# ----------------------------------------------------------------------------------- helpers


def _check_month_day(name: str, month: object, day: object) -> None:
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise ScheduleError(f"{name}: month {month!r} is out of range 1-12")
    last = calendar.monthrange(2000, month)[1]  # 2000 is a leap year: February 29 is allowed
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= last:
        raise ScheduleError(
            f"{name}: day {day!r} is out of range 1-{last} for {calendar.month_name[month]}"
        )


def _month_day(month: int, day: int) -> str:
    return f"{calendar.month_name[month]} {day}"


# ------------------------------------------------------------------------------ serialisation


def _int_fields(*names: str) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    return lambda data: tuple(codec.require(data, name) for name in names)


_DECODERS: dict[str, Callable[[Mapping[str, Any]], Filter]] = {
    "is_weekday": lambda data: is_weekday,
    "is_weekend": lambda data: is_weekend,
    "is_month_start": lambda data: is_month_start,
    "is_month_end": lambda data: is_month_end,
    "is_day_of_week": lambda data: IsDayOfWeek(*_int_fields("day")(data)),
    "on_date": lambda data: OnDate(*_int_fields("month", "day")(data)),
    "between_dates": lambda data: BetweenDates(
        *_int_fields("start_month", "start_day", "end_month", "end_day")(data)
    ),
    "at_time": lambda data: AtTime(codec.decode_time(data, "time")),
    "between_times": lambda data: BetweenTimes(
        codec.decode_time(data, "start"), codec.decode_time(data, "end")
    ),
    "on_datetime": lambda data: OnDatetime(_required_datetime(data, "dt")),
    "between_datetimes": lambda data: BetweenDatetimes(
        _required_datetime(data, "start"), _required_datetime(data, "end")
    ),
}


def _required_datetime(data: Mapping[str, Any], key: str) -> datetime:
    codec.require(data, key)
    dt = codec.decode_datetime(data, key)
    if dt is None:
        raise ScheduleError(f"{data.get('type')} data: {key!r} must be a datetime, not null")
    return dt


def filter_from_dict(data: Mapping[str, Any]) -> Filter:
    """The filter described by a dict from ``to_dict`` (unknown keys are ignored).

    Raises:
        ScheduleError: for an unknown ``"type"`` or a missing key.
    """
    kind = data.get("type")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise ScheduleError(f"filter type {kind!r} is unknown; known types: {', '.join(_DECODERS)}")
    return decoder(data)
