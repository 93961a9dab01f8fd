"""How schedule parts write their values: JSON fields for ``to_dict`` and code text for ``repr``.

The JSON form of a schedule (``Schedule.to_dict``) is plain data: datetimes as ISO 8601 strings
(with their UTC offset when aware, so the instant survives), timedeltas as a number of seconds,
zones as IANA names. Decoders read the keys they know and ignore the rest, so data written by a
newer Tideflow that only added keys still loads.

Reprs read like the code that builds the object, e.g. ``timedelta(seconds=300)`` and
``datetime(2026, 3, 29, 9, 0)``; a clock shows its datetimes as wall-clock times in its own zone,
next to ``tz=...``, so evaluating the repr rebuilds an equal object.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from tideflow.errors import ScheduleError


def seconds_number(delta: timedelta) -> int | float:
    """``delta`` in seconds: an int when whole, else a float (exact to the microsecond)."""
    if delta % timedelta(seconds=1):
        return delta / timedelta(seconds=1)
    return delta // timedelta(seconds=1)


def encode_datetime(dt: datetime | None) -> str | None:
    """ISO 8601 text for ``dt``; an aware datetime keeps its offset and so its exact instant."""
    return None if dt is None else dt.isoformat()


def decode_datetime(data: Mapping[str, Any], key: str) -> datetime | None:
    """The datetime stored under ``key`` (``None`` when missing or null)."""
    text = data.get(key)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ScheduleError(f"{key}: invalid ISO 8601 datetime {text!r}") from None


def decode_datetimes(data: Mapping[str, Any], key: str) -> list[datetime]:
    """The list of datetimes stored under ``key``."""
    values = require(data, key)
    if not isinstance(values, list):
        raise ScheduleError(f"{key}: expected a list of ISO 8601 datetimes, got {values!r}")
    found = [decode_datetime({key: value}, key) for value in values]
    return [dt for dt in found if dt is not None]


def decode_seconds(data: Mapping[str, Any], key: str) -> timedelta:
    """The timedelta stored as a number of seconds under ``key``."""
    value = require(data, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScheduleError(f"{key}: expected a number of seconds, got {value!r}")
    return timedelta(seconds=value)


def decode_time(data: Mapping[str, Any], key: str) -> time:
    """The time of day stored as ``HH:MM[:SS[.ffffff]]`` under ``key``."""
    value = require(data, key)
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ScheduleError(f"{key}: invalid time of day {value!r}") from None


def require(data: Mapping[str, Any], key: str) -> Any:
    """``data[key]``, or a ``ScheduleError`` naming the missing key and the object's type."""
    if key not in data:
        raise ScheduleError(f"{data.get('type', 'schedule')} data: missing key {key!r}")
    return data[key]


def timedelta_repr(delta: timedelta) -> str:
    """``timedelta(seconds=300)``: one unit, so every interval reads the same way."""
    return f"timedelta(seconds={seconds_number(delta)!r})"


def datetime_repr(dt: datetime) -> str:
    """``datetime(2026, 3, 29, 9, 0)`` for naive datetimes; aware ones as ISO text with offset."""
    if dt.tzinfo is not None:
        return f"datetime.fromisoformat({dt.isoformat()!r})"
    fields = [dt.year, dt.month, dt.day, dt.hour, dt.minute]
    fields += [dt.second, dt.microsecond] if dt.microsecond else [dt.second] if dt.second else []
    fold = ", fold=1" if dt.fold else ""
    return f"datetime({', '.join(str(f) for f in fields)}{fold})"


def wall_repr(dt: datetime) -> str:
    """An aware datetime as a naive ``datetime(...)`` repr of its wall-clock time (keeps fold)."""
    return datetime_repr(dt.replace(tzinfo=None))


def optional_wall_repr(dt: datetime | None) -> str | None:
    """:func:`wall_repr`, or ``None`` (an argument left out) when ``dt`` is ``None``."""
    return None if dt is None else wall_repr(dt)


def call_repr(name: str, args: list[str], kwargs: Mapping[str, str | None]) -> str:
    """``name(arg, key=value, ...)``, leaving out keyword arguments whose text is ``None``."""
    parts = args + [f"{key}={text}" for key, text in kwargs.items() if text is not None]
    return f"{name}({', '.join(parts)})"
