"""Adjustments: move a kept event's start time, e.g. "ten minutes later" or "the next weekday".

A schedule applies its adjustments in order to every event that passed its filters (filters see
the clock's time, before any adjustment). Like filters, adjustments are small frozen dataclasses
so schedules compare equal and serialise; ``next_weekday`` is a module-level instance and
``add(delta)`` a factory, as in Prefect 1.

Time arithmetic follows the interval rule of :mod:`tideflow.schedules`: a whole number of days is
added on the wall clock (09:00 stays 09:00 across DST), anything else in absolute time.

Each adjustment also states :meth:`Adjustment.bounds`, the least and the most it can move a time
in absolute terms. ``Schedule.next`` uses them to look far enough back for events that are moved
past ``after`` and to put moved events back in time order (``next_weekday`` moves a Saturday
09:00 event past a Sunday 08:00 one; Prefect 1 returned such times out of order and more than
once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tideflow.errors import ScheduleError
from tideflow.schedules import codec, text
from tideflow.schedules.base import Adjustment
from tideflow.schedules.zones import UTC_ZONE, instant, localize, plain

__all__ = ["Add", "Adjustment", "NextWeekday", "add", "adjustment_from_dict", "next_weekday"]

_DAY = timedelta(days=1)
# Adding days on the wall clock moves a time by that many days plus or minus the zone's offset
# change. DST changes are at most 2 hours, but zones have jumped a whole day (Samoa skipped
# 2011-12-30), so the bounds allow a day of slack.
_WALL_CLOCK_SLACK = timedelta(days=1)


def add_wall_days(dt: datetime, days: int) -> datetime:
    """``dt`` moved by whole days on the wall clock (a skipped time becomes the end of the gap)."""
    wall = dt.replace(tzinfo=None, fold=0) + timedelta(days=days)
    return localize(wall, dt.tzinfo or UTC_ZONE)


@dataclass(frozen=True, repr=False)
class Add(Adjustment):
    """Move every event by ``delta`` (may be negative)."""

    delta: timedelta

    def __post_init__(self) -> None:
        if not isinstance(self.delta, timedelta):
            raise ScheduleError(
                f"add: expected a datetime.timedelta such as timedelta(minutes=10), "
                f"got {self.delta!r} ({type(self.delta).__name__})"
            )

    @property
    def whole_days(self) -> bool:
        """Whether ``delta`` is whole days, added on the wall clock."""
        return not self.delta % _DAY

    def __call__(self, dt: datetime) -> datetime:
        dt = plain(dt)
        if self.whole_days:
            return add_wall_days(dt, self.delta.days)
        return (instant(dt) + self.delta).astimezone(dt.tzinfo)

    def bounds(self) -> tuple[timedelta, timedelta]:
        slack = _WALL_CLOCK_SLACK if self.whole_days and self.delta else timedelta(0)
        return self.delta - slack, self.delta + slack

    def describe(self) -> str:
        direction = "later" if self.delta >= timedelta(0) else "earlier"
        return f"moved {text.amount(abs(self.delta))} {direction}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "add", "delta": codec.seconds_number(self.delta)}

    def __repr__(self) -> str:
        return f"add({codec.timedelta_repr(self.delta)})"


@dataclass(frozen=True, repr=False)
class NextWeekday(Adjustment):
    """Move events on a Saturday or Sunday to the following Monday, same wall-clock time.

    Several weekend events can land on the same Monday time; a schedule keeps one of them.
    """

    def __call__(self, dt: datetime) -> datetime:
        dt = plain(dt)
        weekday = dt.weekday()
        return dt if weekday < 5 else add_wall_days(dt, 7 - weekday)

    def bounds(self) -> tuple[timedelta, timedelta]:
        return timedelta(0), 2 * _DAY + _WALL_CLOCK_SLACK

    def describe(self) -> str:
        return "moved to the next weekday"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "next_weekday"}

    def __repr__(self) -> str:
        return "next_weekday"


next_weekday = NextWeekday()


def add(delta: timedelta) -> Add:
    """Move every event by ``delta``: whole days on the wall clock, otherwise absolute time."""
    return Add(delta)


_DECODERS: dict[str, Callable[[Mapping[str, Any]], Adjustment]] = {
    "add": lambda data: Add(codec.decode_seconds(data, "delta")),
    "next_weekday": lambda data: next_weekday,
}


def adjustment_from_dict(data: Mapping[str, Any]) -> Adjustment:
    """The adjustment described by a dict from ``to_dict`` (unknown keys are ignored).

    Raises:
        ScheduleError: for an unknown ``"type"`` or a missing key.
    """
    kind = data.get("type")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise ScheduleError(
            f"adjustment type {kind!r} is unknown; known types: {', '.join(_DECODERS)}"
        )
    return decoder(data)
