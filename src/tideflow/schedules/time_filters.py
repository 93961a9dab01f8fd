"""Filters on the time of day and on instants: ``at_time``, ``between_times``, ``on_datetime``,
``between_datetimes``.

Build them with the factories in :mod:`tideflow.schedules.filters`. ``at_time`` and
``between_times`` compare the event's wall-clock time of day in its clock's zone (naive
``datetime.time`` values); ``between_times`` wraps around midnight when ``start`` is later than
``end``. ``on_datetime`` and ``between_datetimes`` compare instants: naive datetimes are wall-clock
times in each event's zone, aware ones are stored in UTC so that a filter compares and
serialises exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from tideflow.errors import ScheduleError
from tideflow.schedules import codec
from tideflow.schedules.base import Filter
from tideflow.schedules.zones import UTC_ZONE, check_datetime, instant, localize, plain


@dataclass(frozen=True, repr=False)
class AtTime(Filter):
    """One wall-clock time of day, e.g. ``at_time(time(9, 30))``."""

    at: time
    type_name = "at_time"

    def __post_init__(self) -> None:
        _check_time("at_time", "time", self.at)

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return dt.time() == self.at

    def describe(self) -> str:
        return f"at {self.at.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"time": self.at.isoformat()}

    def __repr__(self) -> str:
        return f"at_time({_time_repr(self.at)})"


@dataclass(frozen=True, repr=False)
class BetweenTimes(Filter):
    """Wall-clock times of day from ``start`` to ``end``, wrapping around midnight."""

    start: time
    end: time
    type_name = "between_times"

    def __post_init__(self) -> None:
        _check_time("between_times", "start", self.start)
        _check_time("between_times", "end", self.end)

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return in_range(self.start, dt.time(), self.end)

    def describe(self) -> str:
        return f"between {self.start.isoformat()} and {self.end.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __repr__(self) -> str:
        return f"between_times({_time_repr(self.start)}, {_time_repr(self.end)})"


@dataclass(frozen=True, repr=False)
class OnDatetime(Filter):
    """Exactly one instant (naive: that wall-clock time in the event's zone)."""

    dt: datetime
    type_name = "on_datetime"

    def __post_init__(self) -> None:
        object.__setattr__(self, "dt", _normalize_datetime("on_datetime", "dt", self.dt))

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return instant(_placed(self.dt, dt)) == instant(dt)

    def describe(self) -> str:
        return f"at {_datetime_text(self.dt)}"

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"dt": self.dt.isoformat()}

    def __repr__(self) -> str:
        return f"on_datetime({codec.datetime_repr(self.dt)})"


@dataclass(frozen=True, repr=False)
class BetweenDatetimes(Filter):
    """Instants from ``start`` to ``end`` (naive: wall-clock times in the event's zone)."""

    start: datetime
    end: datetime
    type_name = "between_datetimes"

    def __post_init__(self) -> None:
        start = _normalize_datetime("between_datetimes", "start", self.start)
        end = _normalize_datetime("between_datetimes", "end", self.end)
        comparable = (start.tzinfo is None) == (end.tzinfo is None)
        if comparable and _as_utc_wall(end) < _as_utc_wall(start):
            raise ScheduleError(
                f"between_datetimes: end {end.isoformat()} is before start {start.isoformat()}"
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def __call__(self, dt: datetime) -> bool:
        dt = plain(dt)
        return instant(_placed(self.start, dt)) <= instant(dt) <= instant(_placed(self.end, dt))

    def describe(self) -> str:
        return f"between {_datetime_text(self.start)} and {_datetime_text(self.end)}"

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __repr__(self) -> str:
        start, end = codec.datetime_repr(self.start), codec.datetime_repr(self.end)
        return f"between_datetimes({start}, {end})"


def in_range(start: Any, value: Any, end: Any) -> bool:
    """``start <= value <= end``, or, when ``start > end``, the wrapped-around range."""
    if start <= end:
        return bool(start <= value <= end)
    return bool(value >= start or value <= end)


def _check_time(name: str, argument: str, value: object) -> None:
    if not isinstance(value, time):
        raise ScheduleError(f"{name}: {argument} must be a datetime.time, got {value!r}")
    if value.tzinfo is not None:
        raise ScheduleError(
            f"{name}: {argument} {value.isoformat()} must be naive: filters compare wall-clock "
            "times in each event's zone"
        )


def _normalize_datetime(name: str, argument: str, value: object) -> datetime:
    """Aware datetimes become UTC, so a filter compares and serialises exactly."""
    dt = check_datetime(value, f"{name}: {argument}")
    return dt if dt.tzinfo is None else instant(dt)


def _as_utc_wall(dt: datetime) -> datetime:
    return dt if dt.tzinfo is None else instant(dt).replace(tzinfo=None)


def _placed(boundary: datetime, event: datetime) -> datetime:
    """``boundary`` as an aware datetime: naive ones are wall-clock times in the event's zone."""
    if boundary.tzinfo is not None:
        return boundary
    return localize(boundary, event.tzinfo or UTC_ZONE)


def _time_repr(t: time) -> str:
    fields = [t.hour, t.minute] + ([t.second] if t.second or t.microsecond else [])
    fields += [t.microsecond] if t.microsecond else []
    return f"time({', '.join(str(f) for f in fields)})"


def _datetime_text(dt: datetime) -> str:
    return dt.isoformat(sep=" ").removesuffix("+00:00") + (" UTC" if dt.tzinfo else "")
