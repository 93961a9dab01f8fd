"""Clocks: the sources of a schedule's fire times.

A clock answers one question, "which events come after this instant?", through
``events(after)``: an iterator of :class:`ClockEvent` strictly after ``after``, in time order, up
to the clock's ``end_date`` (inclusive). Clocks never read the current time. Each event carries
the clock's ``parameter_defaults`` (flow parameters for that run) and ``labels``.

* :class:`IntervalClock` fires at ``start_date + k * interval``. Without a start date it is
  anchored at 2019-01-01 00:00 in its zone, so a one-minute clock ticks at :00 seconds and an
  hourly one on the hour. An interval under a day (or not a whole number of days) steps in
  absolute time; a whole number of days keeps the start's wall-clock time across DST.
* :class:`CronClock` fires when a cron expression matches the local wall-clock time.
* :class:`DatesClock` fires at a fixed list of datetimes.
* :class:`RRuleClock` fires at the times of an iCalendar recurrence rule (dateutil's ``rrule``);
  see :mod:`tideflow.schedules.rrules`.

Without ``after``, ``events()`` starts from now.

Every clock has a zone (``tz``): see :mod:`tideflow.schedules.zones`. Events are aware datetimes
in that zone. Clocks are frozen dataclasses: they compare equal field by field, and
``to_dict``/:func:`clock_from_dict` turn them into JSON-compatible dicts and back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from tideflow.errors import ScheduleError
from tideflow.schedules import codec, text
from tideflow.schedules import cron as cron_module
from tideflow.schedules.base import Clock, ClockEvent, common_kwargs, set_common
from tideflow.schedules.rrules import RRuleClock
from tideflow.schedules.zones import (
    check_datetime,
    instant,
    localize,
    to_zone,
    zone_name,
)

__all__ = [
    "Clock",
    "ClockEvent",
    "CronClock",
    "DatesClock",
    "IntervalClock",
    "RRuleClock",
    "clock_from_dict",
]

_DAY = timedelta(days=1)


@dataclass(frozen=True, init=False, repr=False)
class IntervalClock(Clock):
    """Fires every ``interval``, at ``start_date + k * interval`` for k = 0, 1, 2, ...

    Args:
        interval: a positive timedelta.
        start_date: the first event and the anchor of the others; default 2019-01-01 00:00 in
            the clock's zone. Naive: wall-clock time in the clock's zone.
        end_date: no events after this (inclusive).
        tz: zone name or ``ZoneInfo``; default the start date's zone, else UTC.
        parameter_defaults: flow parameters for the runs this clock starts.
        labels: labels for the runs this clock starts.
    """

    interval: timedelta
    start_date: datetime | None
    end_date: datetime | None
    tz: ZoneInfo
    parameter_defaults: dict[str, Any]
    labels: tuple[str, ...]

    def __init__(
        self,
        interval: timedelta,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        *,
        tz: str | tzinfo | None = None,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(interval, timedelta):
            raise ScheduleError(
                f"interval: expected a datetime.timedelta such as timedelta(minutes=5), "
                f"got {interval!r} ({type(interval).__name__})"
            )
        if interval <= timedelta(0):
            raise ScheduleError(f"interval: must be positive, got {codec.timedelta_repr(interval)}")
        object.__setattr__(self, "interval", interval)
        set_common(self, start_date, end_date, tz, parameter_defaults, labels)

    @property
    def anchor(self) -> datetime:
        """The first event: ``start_date``, or 2019-01-01 00:00 in the clock's zone."""
        return self.start_date or datetime(2019, 1, 1, tzinfo=self.tz)

    @property
    def keeps_wall_time(self) -> bool:
        """Whether the interval is whole days, so events keep the anchor's wall-clock time."""
        return not self.interval % _DAY

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        after = self._after(after)
        times = self._wall_times(after) if self.keeps_wall_time else self._absolute_times(after)
        return self._until_end(times)

    def _absolute_times(self, after: datetime) -> Iterator[datetime]:
        # Sub-day intervals are durations: step in UTC, so a DST change neither adds nor drops
        # a run (an hourly clock in Berlin fires 24 times on every day, 23 or 25 local hours).
        anchor = instant(self.anchor)
        k = max(0, (instant(after) - anchor) // self.interval + 1)
        try:
            while True:
                yield (anchor + k * self.interval).astimezone(self.tz)
                k += 1
        except OverflowError:
            return

    def _wall_times(self, after: datetime) -> Iterator[datetime]:
        # Whole-day intervals are calendar steps: keep the anchor's wall-clock time, so a daily
        # 09:00 run stays at 09:00 local time across DST (localize handles gaps and folds).
        days = self.interval.days
        elapsed = (after.date() - self.anchor.date()).days
        k = max(0, elapsed // days - 1)
        try:
            while instant(self._wall_time(k)) <= instant(after):
                k += 1
            while True:
                yield self._wall_time(k)
                k += 1
        except OverflowError:
            return

    def _wall_time(self, k: int) -> datetime:
        if k == 0:
            return self.anchor
        wall = self.anchor.replace(tzinfo=None, fold=0) + k * self.interval
        return localize(wall, self.tz)

    def describe(self) -> str:
        if self.keeps_wall_time:
            base = text.every_days(self.interval.days, self.anchor, self.tz)
            named = True
        else:
            base, named = f"every {text.duration(self.interval)}", False
        return text.with_range(base, self.start_date, self.end_date, self.tz, zone_named=named)

    def to_dict(self) -> dict[str, Any]:
        interval = codec.seconds_number(self.interval)
        return {"type": "interval", "interval": interval} | self._common_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IntervalClock:
        """The clock written by :meth:`to_dict`."""
        return cls(codec.decode_seconds(data, "interval"), **common_kwargs(data))

    def __repr__(self) -> str:
        interval = codec.timedelta_repr(self.interval)
        return codec.call_repr("IntervalClock", [interval], self._common_repr())


@dataclass(frozen=True, init=False, repr=False)
class CronClock(Clock):
    """Fires when a cron expression matches the wall-clock time in the clock's zone.

    Args:
        cron: 5 fields (minute hour day-of-month month day-of-week) or an alias such as
            ``@daily``; see :mod:`tideflow.schedules.cron`.
        start_date: no events before this (inclusive).
        end_date: no events after this (inclusive).
        day_or: when both day fields are restricted, fire when either matches (True, cron's
            rule) or only when both match (False).
        tz: zone name or ``ZoneInfo``; default the start date's zone, else UTC.
        parameter_defaults: flow parameters for the runs this clock starts.
        labels: labels for the runs this clock starts.
    """

    cron: str
    start_date: datetime | None
    end_date: datetime | None
    day_or: bool
    tz: ZoneInfo
    parameter_defaults: dict[str, Any]
    labels: tuple[str, ...]
    #: The validated 5-field form of ``cron`` (aliases expanded, names upper-case).
    expression: str = field(compare=False)

    def __init__(
        self,
        cron: str,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        *,
        day_or: bool | None = True,
        tz: str | tzinfo | None = None,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        day_or = True if day_or is None else bool(day_or)  # None: Prefect 1's default, "or"
        expression = cron_module.normalize(cron)
        cron_module.check_with_cronsim(cron, expression, day_or)
        object.__setattr__(self, "cron", cron)
        object.__setattr__(self, "day_or", day_or)
        object.__setattr__(self, "expression", expression)
        set_common(self, start_date, end_date, tz, parameter_defaults, labels)

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        after = self._after(after)
        begin = after
        if self.start_date is not None and instant(self.start_date) > instant(after):
            begin = (instant(self.start_date) - timedelta(seconds=1)).astimezone(self.tz)
        return self._until_end(self._times(begin, after))

    def _times(self, begin: datetime, after: datetime) -> Iterator[datetime]:
        start = None if self.start_date is None else instant(self.start_date)
        for time in cron_module.fire_times(self.expression, self.day_or, begin):
            moment = instant(time)
            # cronsim may return the first occurrence of an ambiguous time that lies before
            # `after` (when `after` is in the repeated hour): the job already ran then.
            if moment > instant(after) and (start is None or moment >= start):
                yield time

    def describe(self) -> str:
        base = cron_module.explain(self.expression, self.day_or)
        if self.tz.key != "UTC":
            base = f"{base}, {zone_name(self.tz)}"
        return text.with_range(base, self.start_date, self.end_date, self.tz, zone_named=True)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "cron", "cron": self.cron, "day_or": self.day_or} | self._common_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CronClock:
        """The clock written by :meth:`to_dict`."""
        day_or = bool(data.get("day_or", True))
        return cls(codec.require(data, "cron"), day_or=day_or, **common_kwargs(data))

    def __repr__(self) -> str:
        common = self._common_repr()
        dates = {key: common.pop(key) for key in ("start_date", "end_date")}
        kwargs = dates | {"day_or": None if self.day_or else "False"} | common
        return codec.call_repr("CronClock", [repr(self.cron)], kwargs)


@dataclass(frozen=True, init=False, repr=False)
class DatesClock(Clock):
    """Fires once at each of the given datetimes (duplicates fire once).

    Args:
        dates: the fire times; naive ones are wall-clock times in the clock's zone.
        tz: zone name or ``ZoneInfo``; default the first date's zone, else UTC.
        parameter_defaults: flow parameters for the runs this clock starts.
        labels: labels for the runs this clock starts.
    """

    dates: tuple[datetime, ...]
    tz: ZoneInfo
    parameter_defaults: dict[str, Any]
    labels: tuple[str, ...]

    def __init__(
        self,
        dates: Iterable[datetime],
        *,
        tz: str | tzinfo | None = None,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        given = [check_datetime(d, f"dates[{i}]") for i, d in enumerate(dates)]
        if not given:
            raise ScheduleError("dates: a DatesClock needs at least one datetime")
        zone = given[0].tzinfo if tz is None else tz
        set_common(self, None, None, zone, parameter_defaults, labels)
        instants = sorted({instant(to_zone(d, self.tz)) for d in given})
        ordered = tuple(i.astimezone(self.tz) for i in instants)
        object.__setattr__(self, "dates", ordered)
        object.__setattr__(self, "start_date", ordered[0])
        object.__setattr__(self, "end_date", ordered[-1])

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        after = self._after(after)
        return self._until_end(d for d in self.dates if instant(d) > instant(after))

    def describe(self) -> str:
        if len(self.dates) == 1:
            return f"once at {text.local(self.dates[0], self.tz)}"
        first, last = (text.local(d, self.tz) for d in (self.dates[0], self.dates[-1]))
        return f"on {len(self.dates)} dates from {first} to {last}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "dates",
            "dates": [codec.encode_datetime(d) for d in self.dates],
            "tz": zone_name(self.tz),
            "parameter_defaults": dict(self.parameter_defaults),
            "labels": list(self.labels),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatesClock:
        """The clock written by :meth:`to_dict`."""
        return cls(
            codec.decode_datetimes(data, "dates"),
            tz=data.get("tz"),
            parameter_defaults=data.get("parameter_defaults"),
            labels=data.get("labels"),
        )

    def __repr__(self) -> str:
        kwargs = self._common_repr()
        del kwargs["start_date"], kwargs["end_date"]
        dates = f"[{', '.join(codec.wall_repr(d) for d in self.dates)}]"
        return codec.call_repr("DatesClock", [dates], kwargs)


_CLOCK_TYPES: dict[
    str, type[IntervalClock] | type[CronClock] | type[DatesClock] | type[RRuleClock]
] = {
    "interval": IntervalClock,
    "cron": CronClock,
    "dates": DatesClock,
    "rrule": RRuleClock,
}


def clock_from_dict(data: Mapping[str, Any]) -> Clock:
    """The clock described by a dict from ``to_dict`` (unknown keys are ignored).

    Raises:
        ScheduleError: for an unknown ``"type"`` or a missing required key.
    """
    kind = data.get("type")
    clock_type = _CLOCK_TYPES.get(kind) if isinstance(kind, str) else None
    if clock_type is None:
        raise ScheduleError(
            f"clock type {kind!r} is unknown; known types: {', '.join(_CLOCK_TYPES)}"
        )
    return clock_type.from_dict(data)
